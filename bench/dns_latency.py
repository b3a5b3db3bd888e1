#!/usr/bin/env python3
"""Answer latency of a DNS server: N sequential A queries over UDP, median/p99/max in µs.

    dns_latency.py SERVER NAME [COUNT]     (run inside a container's namespace with nsenter)

Prints one JSON line: {"count":…, "median_us":…, "p99_us":…, "max_us":…, "answers":…}.
A query that gets no answer within 1 s counts as a failure (reported, not timed).
"""
import json
import os
import socket
import struct
import sys
import time


def query(name, qid):
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p)
    return header + labels + b"\x00" + struct.pack(">HH", 1, 1)


def main():
    server, name = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    sock.connect((server, 53))
    times, failures, answers = [], 0, 0
    for i in range(count + 100):
        qid = (i * 7919 + os.getpid()) & 0xFFFF
        msg = query(name, qid)
        start = time.perf_counter_ns()
        sock.send(msg)
        try:
            while True:
                reply = sock.recv(4096)
                if len(reply) >= 12 and struct.unpack(">H", reply[:2])[0] == qid:
                    break
        except socket.timeout:
            failures += 1
            continue
        elapsed = time.perf_counter_ns() - start
        if i >= 100:  # the first 100 warm up
            times.append(elapsed / 1000.0)
            answers = struct.unpack(">H", reply[6:8])[0]
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))], 1) if times else None
    print(json.dumps({"count": len(times), "failures": failures, "median_us": pick(0.5),
                      "p99_us": pick(0.99), "max_us": round(times[-1], 1) if times else None,
                      "answers": answers}))


if __name__ == "__main__":
    main()

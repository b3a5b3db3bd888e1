// The DNS wire format (RFC 1035 §4; OPT records per RFC 6891 are plain records here).
#include <cctype>

#include "stack/network/dns.h"

namespace stack::network::dns {
namespace {

Error malformed(const std::string& what) {
  return Error(EBADMSG, "malformed DNS message: " + what);
}

struct Reader {
  std::string_view msg;
  size_t pos = 0;

  bool has(size_t n) const { return pos <= msg.size() && msg.size() - pos >= n; }
  uint16_t u16() {
    uint16_t v = static_cast<uint16_t>(static_cast<uint8_t>(msg[pos]) << 8 |
                                       static_cast<uint8_t>(msg[pos + 1]));
    pos += 2;
    return v;
  }
  uint32_t u32() {
    uint32_t hi = u16();
    return hi << 16 | u16();
  }
};

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

Result<Question> read_question(Reader& r) {
  Question q;
  STACK_TRY(q.name, read_name(r.msg, r.pos));
  if (!r.has(4)) return malformed("truncated question");
  q.type = r.u16();
  q.qclass = r.u16();
  return q;
}

Result<ResourceRecord> read_record(Reader& r) {
  ResourceRecord rr;
  STACK_TRY(rr.name, read_name(r.msg, r.pos));
  if (!r.has(10)) return malformed("truncated record");
  rr.type = r.u16();
  rr.rclass = r.u16();
  rr.ttl = r.u32();
  uint16_t len = r.u16();
  if (!r.has(len)) return malformed("truncated record data");
  rr.rdata = std::string(r.msg.substr(r.pos, len));
  r.pos += len;
  return rr;
}

void write_record(std::string& out, const ResourceRecord& rr) {
  out += encode_name(rr.name);
  put16(out, rr.type);
  put16(out, rr.rclass);
  put32(out, rr.ttl);
  put16(out, static_cast<uint16_t>(rr.rdata.size()));
  out += rr.rdata;
}

}  // namespace

Result<std::string> read_name(std::string_view msg, size_t& offset) {
  std::string name;
  size_t pos = offset;
  bool jumped = false;
  size_t wire_len = 1;
  while (true) {
    if (pos >= msg.size()) return malformed("truncated name");
    auto len = static_cast<uint8_t>(msg[pos]);
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= msg.size()) return malformed("truncated compression pointer");
      size_t target = (len & 0x3f) << 8 | static_cast<uint8_t>(msg[pos + 1]);
      // Pointers must go strictly backwards, which makes loops impossible (RFC 1035 §4.1.4
      // only ever points at earlier occurrences).
      if (target >= pos) return malformed("compression pointer loop or forward pointer");
      if (!jumped) offset = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) return malformed("unsupported label type");
    if (len == 0) {
      if (!jumped) offset = pos + 1;
      return name;
    }
    if (pos + 1 + len > msg.size()) return malformed("truncated label");
    wire_len += len + 1;
    if (wire_len > 255) return malformed("name longer than 255 bytes");
    if (!name.empty()) name.push_back('.');
    name.append(msg.substr(pos + 1, len));
    pos += 1 + len;
  }
}

std::string encode_name(std::string_view name) {
  std::string out;
  while (!name.empty()) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.size() > 63) label = label.substr(0, 63);
    if (!label.empty()) {
      out.push_back(static_cast<char>(label.size()));
      out.append(label);
    }
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out.push_back('\0');
  return out;
}

Result<Message> parse_message(std::string_view bytes) {
  Reader r{bytes};
  if (!r.has(12)) return malformed("shorter than its header");
  Message m;
  m.id = r.u16();
  uint16_t flags = r.u16();
  m.qr = flags & 0x8000;
  m.opcode = (flags >> 11) & 0xf;
  m.aa = flags & 0x0400;
  m.tc = flags & 0x0200;
  m.rd = flags & 0x0100;
  m.ra = flags & 0x0080;
  m.rcode = flags & 0xf;
  uint16_t qd = r.u16(), an = r.u16(), ns = r.u16(), ar = r.u16();
  for (int i = 0; i < qd; ++i) {
    STACK_TRY(auto q, read_question(r));
    m.questions.push_back(std::move(q));
  }
  for (auto [count, section] : {std::pair{an, &m.answers}, std::pair{ns, &m.authority},
                                std::pair{ar, &m.additional}}) {
    for (int i = 0; i < count; ++i) {
      STACK_TRY(auto rr, read_record(r));
      section->push_back(std::move(rr));
    }
  }
  if (r.pos != bytes.size()) return malformed("trailing bytes");
  return m;
}

std::string build_message(const Message& m) {
  std::string out;
  put16(out, m.id);
  uint16_t flags = static_cast<uint16_t>((m.qr ? 0x8000 : 0) | (m.opcode & 0xf) << 11 |
                                         (m.aa ? 0x0400 : 0) | (m.tc ? 0x0200 : 0) |
                                         (m.rd ? 0x0100 : 0) | (m.ra ? 0x0080 : 0) |
                                         (m.rcode & 0xf));
  put16(out, flags);
  put16(out, static_cast<uint16_t>(m.questions.size()));
  put16(out, static_cast<uint16_t>(m.answers.size()));
  put16(out, static_cast<uint16_t>(m.authority.size()));
  put16(out, static_cast<uint16_t>(m.additional.size()));
  for (const auto& q : m.questions) {
    out += encode_name(q.name);
    put16(out, q.type);
    put16(out, q.qclass);
  }
  for (const auto* section : {&m.answers, &m.authority, &m.additional}) {
    for (const auto& rr : *section) write_record(out, rr);
  }
  return out;
}

}  // namespace stack::network::dns

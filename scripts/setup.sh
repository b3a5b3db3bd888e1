#!/usr/bin/env bash
# Installs exactly the Debian 12 packages stack needs to build and test, and nothing else.
# Idempotent: prints nothing and touches nothing when everything is already installed.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache clang libclang-rt-14-dev git
  # libraries (see README "Dependencies")
  libyaml-cpp-dev libcli11-dev libcurl4-openssl-dev libseccomp-dev libcap-dev nlohmann-json3-dev
  libboost-dev libboost-filesystem-dev catch2 libarchive-dev libmnl-dev libnftables-dev libssl-dev
  # test-time tools: the real components tests talk to
  busybox-static iproute2 nftables docker-registry openssh-server openssh-client
  runc jq
  # tests/vm: Debian's kernel under qemu (TCG); tiny-initramfs satisfies the kernel package's
  # initramfs dependency without initramfs-tools, whose udev would upgrade systemd here. The
  # tests make their own initramfs, with python3.
  qemu-system-x86 linux-image-amd64 tiny-initramfs python3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

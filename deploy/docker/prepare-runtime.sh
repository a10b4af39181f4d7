#!/bin/sh
# Prepares the final stage of a berth image (run once per image at build
# time): the berth user and group (10001), the state and runtime directories,
# and the Debian packages the service drives, installed only when missing
# (an offline base image already carries them, so no network is needed).
set -eu
service="${1:?usage: prepare-runtime.sh SERVICE}"

case "$service" in
  agent)      packages="runc conmon containernetworking-plugins iproute2 iptables tini" ;;  # OCI runtime, monitor, CNI, netns, init
  networking) packages="iproute2" ;;                                                          # host routes (ip route)
  snapshots)  packages="zstd" ;;                                                              # zstd layers from DiffSnapshot
  images|tasks|cli) packages="" ;;
  *) echo "prepare-runtime.sh: unknown service \"$service\"" >&2; exit 2 ;;
esac

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "prepare-runtime.sh: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
  rm -rf /var/lib/apt/lists/*
fi

# The tasks service's --init (the chart's BERTH_TASKS_INIT_PATH) is bind-mounted
# from the agent's image into containers of any image, so it must be the static
# build: the dynamically linked /usr/bin/tini fails where there is no glibc.
if [ "$service" = agent ] && [ ! -x /usr/bin/tini-static ]; then
  echo "prepare-runtime.sh: /usr/bin/tini-static is missing (Debian's tini package ships it)" >&2
  exit 1
fi

getent group berth >/dev/null || groupadd --system --gid 10001 berth
getent passwd berth >/dev/null || useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/berth --no-create-home --shell /usr/sbin/nologin berth
# Every berth process runs with group berth, so the 0660 sockets of one are open to the others.
install -d -m 2775 -o root -g berth /var/lib/berth /run/berth

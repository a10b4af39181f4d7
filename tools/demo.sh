#!/usr/bin/env bash
# berth's main job on a fresh machine: install what is missing, start the stack
# on its embedded defaults, build a small image locally, load it, run a container.
set -euo pipefail
cd "$(dirname "$0")/.."
# tools/test.sh runs this demo too, after its own setup, on a private stack
[ "${BERTH_DEMO_SKIP_SETUP:-}" = 1 ] || bash tools/setup.sh
berth() { packages/cli/bundle/berth "$@"; }

berth system up
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node tools/make-busybox-archive.mjs "$work/busybox.tar" busybox:latest >/dev/null
berth load -i "$work/busybox.tar"
berth images
berth run --rm --name berth-demo busybox:latest echo "hello from a berth container"
berth system status
echo "the stack keeps running; stop it with: packages/cli/bundle/berth system down"

#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install, build, typecheck, test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export NX_DAEMON=false NX_NO_CLOUD=true
npx nx run-many -t lint test --output-style=stream "$@"

# The README's other command, the demo, on a private stack (its own state
# root, runtime dir, NATS port, bridge and netns names), taken down after.
demo=$(mktemp -d /tmp/berth-demo-test.XXXXXX)
export BERTH_ROOT=$demo/root BERTH_RUNTIME_DIR=$demo/run BERTH_NATS_PORT=14731 BERTH_NODE=demo-test \
  BERTH_DEFAULT_NETWORK_BRIDGE=bdemo0 BERTH_DEFAULT_NETWORK_SUBNET=10.233.0.0/24 BERTH_NETNS_PREFIX=bdemo- \
  BERTH_TASKS_CGROUP_PARENT=/berth-demo-test
cleanup_demo() {
  packages/cli/bundle/berth system down >/dev/null 2>&1 || true
  ip link del bdemo0 2>/dev/null || true
  # the CNI firewall plugin's isolation rules for the bridge outlive the stack
  for table in filter nat mangle; do
    iptables-save -t "$table" 2>/dev/null | grep -E -- '^-A .*(bdemo0|10\.233\.0\.)' | sed 's/^-A /-D /' |
      while IFS= read -r rule; do printf '*%s\n%s\nCOMMIT\n' "$table" "$rule" | iptables-restore -n -w 2>/dev/null || true; done || true
  done
  rm -rf "$demo"
}
trap cleanup_demo EXIT
BERTH_DEMO_SKIP_SETUP=1 bash tools/demo.sh | tee "$demo/demo.log"
grep -qx 'hello from a berth container' "$demo/demo.log" || { echo 'tools/demo.sh did not run its container' >&2; exit 1; }
echo 'tools/demo.sh: ok'


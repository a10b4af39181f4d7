#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install, build, typecheck, test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export NX_DAEMON=false NX_NO_CLOUD=true
npx nx run-many -t lint test --output-style=stream "$@"

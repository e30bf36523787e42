#!/usr/bin/env bash
# The one test command (`npm test`, and `.ci/run`): typecheck, lint, then every test file
# under test/ with node's built-in runner. Integration and end-to-end tests need the local
# Temporal + MinIO stack: this script starts a dedicated one (own ports and state dir, so a
# developer's `fineflow dev up` stack is left alone) and stops it afterwards.
# Usage: scripts/test.sh [all|unit|integration|security] [extra test files…]
set -euo pipefail
cd "$(dirname "$0")/.."
scope="${1:-all}"; shift || true

# Held shared for the whole run: scripts/npm-ensure.sh will not npm ci (deleting node_modules) under it.
mkdir -p .fineflow/locks
exec 9>.fineflow/locks/test-run.lock
flock -s 9
export FINEFLOW_TEST_RUN_LOCK_FD=9 FINEFLOW_TEST_RUN_PID=$$
echo $$ > ".fineflow/locks/test-run.$$.pid"
started=0
cleanup() {
  if [[ $started == 1 ]]; then bash infra/stack.sh down >/dev/null 2>&1 || true; fi
  rm -f ".fineflow/locks/test-run.$$.pid"
}
trap cleanup EXIT

bash scripts/bootstrap.sh

# A dedicated stack for tests; FINEFLOW_TEST_* choose another one (e.g. two test runs at once).
export FINEFLOW_STACK_DIR="${FINEFLOW_TEST_STACK_DIR:-$PWD/.fineflow/test-stack}"
export FINEFLOW_TEMPORAL_PORT="${FINEFLOW_TEST_TEMPORAL_PORT:-7244}"
export FINEFLOW_TEMPORAL_UI_PORT="${FINEFLOW_TEST_TEMPORAL_UI_PORT:-8244}"
export FINEFLOW_MINIO_PORT="${FINEFLOW_TEST_MINIO_PORT:-9244}"
export FINEFLOW_MINIO_CONSOLE_PORT="${FINEFLOW_TEST_MINIO_CONSOLE_PORT:-9245}"
# shellcheck source=../infra/stack-env.sh
source infra/stack-env.sh

if [[ "$scope" != "integration" ]]; then
  echo "== typecheck"; npx tsc -p . && npx tsc -p src/ui/web
  echo "== lint"; npx eslint --max-warnings 0 .
  echo "== format (prettier, 120 columns; fix with npm run format)"; npx prettier --check --log-level warn .
  echo "== imports (cycles, layers)"; npx depcruise --config .dependency-cruiser.cjs src workflows activities bench test
  echo "== code metrics (only go down: scripts/lint-metrics-ceiling.json)"; node --import tsx scripts/lint-metrics.ts --check
fi

files=()
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  case "$scope" in
    unit) dirs=(test/unit) ;;
    integration) dirs=(test/integration test/security test/e2e) ;;
    security) dirs=(test/security) ;;
    all) dirs=(test/unit test/integration test/security test/e2e) ;;
    *) echo "usage: scripts/test.sh [all|unit|integration|security] [files…]" >&2; exit 2 ;;
  esac
  while IFS= read -r f; do files+=("$f"); done < <(find "${dirs[@]}" -name '*.test.ts' 2>/dev/null | sort)
fi

needs_stack=0
for f in "${files[@]}"; do [[ "$f" == test/integration/* || "$f" == test/security/* || "$f" == test/e2e/* ]] && needs_stack=1; done
if [[ $needs_stack == 1 ]]; then
  bash scripts/ensure-chromium.sh
  echo "== starting test stack (Temporal :$FINEFLOW_TEMPORAL_PORT, MinIO :$FINEFLOW_MINIO_PORT)"
  bash infra/stack.sh up 9>&- # the servers outlive this script: they must not hold the run lock
  started=1
fi

echo "== tests (${#files[@]} files)"
status=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" 9>&- || status=$?
if [[ $started == 1 ]]; then bash infra/stack.sh down >/dev/null 2>&1 || true; fi
started=0
exit $status

#!/usr/bin/env bash
# The second CI step (.ci/run runs it after `npm test`): the production-shaped stack
# (FINEFLOW_STACK_PROFILE=prod: Temporal server on PostgreSQL, 4-drive erasure-coded MinIO, worker
# hosts in network namespaces), a smoke test of a real pipeline on it, then the chaos scenarios.
# Needs root. Usage: scripts/test-prod.sh [test files…]   (default: test/prod/*.test.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null

export FINEFLOW_STACK_PROFILE=prod
export FINEFLOW_STACK_DIR="${FINEFLOW_PROD_STACK_DIR:-$PWD/.fineflow/prod-test}"
# The chaos scenarios act at an epoch and measure time lost from the run's live progress.
export FINEFLOW_PROD_PROGRESS_INTERVAL=500ms
files=("$@")
(( ${#files[@]} )) || files=(test/prod/prod-stack.test.ts test/prod/chaos.test.ts test/prod/rolling-restart.test.ts test/prod/restore.test.ts)

cleanup() { bash infra/stack.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT
started=$SECONDS
echo "== starting the prod-profile stack"
bash infra/stack.sh up
echo "== prod stack up in $((SECONDS - started))s"
eval "$(bash infra/stack.sh env)"
echo "== prod tests (${#files[@]} files)"
# The quiet reporter, as scripts/test.sh: node's spec minus TensorFlow's start-up notices (counted in the summary).
node --import tsx --test --test-concurrency=1 \
  --test-reporter=./test/helpers/quiet-spec-reporter.mjs --test-reporter-destination=stdout "${files[@]}"

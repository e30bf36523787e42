#!/usr/bin/env bash
# Re-records the workflow histories that the replay test (test/unit/replay/) replays: starts the
# test stack (the same ports and state dir as scripts/test.sh), runs test/replay/record-histories.ts,
# stops the stack. Only for a deliberate, versioned workflow change: see docs/operations.md.
# Usage: scripts/record-histories.sh [scenario…]   (default: every scenario)
set -euo pipefail
cd "$(dirname "$0")/.."
export FINEFLOW_STACK_DIR="${FINEFLOW_TEST_STACK_DIR:-$PWD/.fineflow/test-stack}"
export FINEFLOW_TEMPORAL_PORT="${FINEFLOW_TEST_TEMPORAL_PORT:-7244}"
export FINEFLOW_TEMPORAL_UI_PORT="${FINEFLOW_TEST_TEMPORAL_UI_PORT:-8244}"
export FINEFLOW_MINIO_PORT="${FINEFLOW_TEST_MINIO_PORT:-9244}"
export FINEFLOW_MINIO_CONSOLE_PORT="${FINEFLOW_TEST_MINIO_CONSOLE_PORT:-9245}"
# shellcheck source=../infra/stack-env.sh
source infra/stack-env.sh
# Recorded without payload encryption: the histories are test data in the repository, replayed
# by a worker without keys (docs/operations.md).
export FINEFLOW_CODEC=off
bash infra/stack.sh up
trap 'bash infra/stack.sh down >/dev/null 2>&1 || true' EXIT
node --import tsx test/replay/record-histories.ts "$@"

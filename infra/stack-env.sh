# Sourced (not run) by scripts that talk to a local stack started by infra/stack.sh: exports the
# connection variables every Fineflow process reads (src/config.ts) from the stack's ports.
# Set FINEFLOW_STACK_DIR and the FINEFLOW_*_PORT variables first to pick a stack other than the
# dev one (scripts/test.sh does, so tests never touch a developer's `fineflow dev up` stack).
export FINEFLOW_STACK_DIR="${FINEFLOW_STACK_DIR:-$PWD/.fineflow/dev}"
export FINEFLOW_TEMPORAL_PORT="${FINEFLOW_TEMPORAL_PORT:-7233}"
export FINEFLOW_TEMPORAL_UI_PORT="${FINEFLOW_TEMPORAL_UI_PORT:-8233}"
export FINEFLOW_MINIO_PORT="${FINEFLOW_MINIO_PORT:-9000}"
export FINEFLOW_MINIO_CONSOLE_PORT="${FINEFLOW_MINIO_CONSOLE_PORT:-9001}"
export TEMPORAL_ADDRESS="127.0.0.1:${FINEFLOW_TEMPORAL_PORT}"
export TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
export FINEFLOW_S3_ENDPOINT="http://127.0.0.1:${FINEFLOW_MINIO_PORT}"
# Never the MinIO root user: the CLI user for the CLI and tests, the worker user for worker processes
# (infra/stack-users.sh; `infra/stack.sh up` creates both with their policies).
# shellcheck source=stack-users.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack-users.sh"
export FINEFLOW_S3_ACCESS_KEY="${FINEFLOW_S3_ACCESS_KEY:-$FINEFLOW_STACK_CLI_USER}"
export FINEFLOW_S3_SECRET_KEY="${FINEFLOW_S3_SECRET_KEY:-$(fineflow_stack_user_secret "$FINEFLOW_STACK_CLI_USER")}"
export FINEFLOW_WORKER_S3_ACCESS_KEY="${FINEFLOW_WORKER_S3_ACCESS_KEY:-$FINEFLOW_STACK_WORKER_USER}"
export FINEFLOW_WORKER_S3_SECRET_KEY="${FINEFLOW_WORKER_S3_SECRET_KEY:-$(fineflow_stack_user_secret "$FINEFLOW_STACK_WORKER_USER")}"

# Sourced by infra/stack.sh and infra/stack-env.sh: the MinIO users of the local stack.
# The root user only administers MinIO; Fineflow processes use two least-privilege users whose
# policies live in infra/minio/: `fineflow-worker` (workers: read/write the Fineflow bucket, read
# dataset buckets) and `fineflow-cli` (the CLI and the tests: create dataset buckets, read/write
# them and the Fineflow bucket; no admin API). On this local stack each user's secret is derived
# from the root password, so every shell computes it without a file and a changed root password
# rotates both. A real deployment generates random secrets instead (infra/README.md).
FINEFLOW_STACK_ROOT_USER="${FINEFLOW_MINIO_ROOT_USER:-fineflow}"
FINEFLOW_STACK_ROOT_PASSWORD="${FINEFLOW_MINIO_ROOT_PASSWORD:-fineflow-secret}"
FINEFLOW_STACK_WORKER_USER=fineflow-worker
FINEFLOW_STACK_CLI_USER=fineflow-cli

# The local stack's secret key of MinIO user $1.
fineflow_stack_user_secret() {
  printf '%s\n' "fineflow-stack-user:$1:$FINEFLOW_STACK_ROOT_PASSWORD" | sha256sum | cut -c1-40
}

#!/usr/bin/env bash
# The demo (`npm run demo`): a base model pretrained on one domain (surface-cnn, on production line A's
# brushed-metal defect images), fine-tuned on a small labelled set of another (line B, cast metal),
# against a model trained from scratch on the same examples.
#   1. bootstrap (dependencies, native TensorFlow binding, Temporal + MinIO binaries)
#   2. the local stack on the dev ports (infra/stack.sh up; state in .fineflow/dev)
#   3. src/demo/main.ts: worker pools control, cpu and train in the background (logs in
#      .fineflow/dev/logs), pretrain the base model when the registry lacks it, push the target
#      dataset, submit pipelines/quickstart.yaml --watch, print the headline, stop the workers.
# The stack stays up afterwards; stop it with `fineflow dev down` (or `npm run dev:down`).
# Idempotent: run it again and it reuses the base model and the stack.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh

# The dev stack's endpoints (infra/stack.sh defaults unless overridden), for every child process.
# shellcheck source=../infra/stack-env.sh
source infra/stack-env.sh

bash infra/stack.sh up

exec node --import tsx src/demo/main.ts "$@"

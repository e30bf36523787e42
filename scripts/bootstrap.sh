#!/usr/bin/env bash
# Makes a fresh clone runnable with no manual step; every entry point (npm test, npm run demo,
# .ci/run) calls it first. Idempotent and fast when nothing changed:
#   1. npm dependencies (npm ci --ignore-scripts; .npmrc keeps tfjs-node's download from running)
#   2. the native TensorFlow binding, built offline from package registries (cached outside the repo)
#   3. the Temporal CLI and MinIO binaries (built from their Go modules once, cached outside the repo)
#   4. the Python virtual environment of the `command` stage examples (scikit-learn from PyPI, cached outside the repo)
set -euo pipefail
cd "$(dirname "$0")/.."

lock_sha() { sha256sum package-lock.json | cut -d' ' -f1; }
stamp=node_modules/.fineflow-lock-sha256
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$(lock_sha)" ]]; then
  echo "bootstrap: installing npm dependencies (npm ci)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  lock_sha > "$stamp"
fi

if [[ -f infra/tfjs-native/setup.sh ]]; then
  bash infra/tfjs-native/setup.sh
fi

bash infra/stack.sh install

# The examples' workers allow python=<this venv> (pipelines/sklearn-baseline.yaml, test/e2e).
bash pipelines/python/setup-venv.sh >/dev/null

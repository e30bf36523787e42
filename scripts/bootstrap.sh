#!/usr/bin/env bash
# Makes a fresh clone runnable with no manual step; every entry point (npm test, npm run demo,
# .ci/run) calls it first. Idempotent and fast when nothing changed:
#   1. npm dependencies (npm ci --ignore-scripts; .npmrc keeps tfjs-node's download from running), only when
#      package-lock.json changed and no scripts/test.sh of this checkout runs (scripts/npm-ensure.sh)
#   2. the native TensorFlow binding, built offline from package registries (cached outside the repo)
#   3. the Temporal CLI and MinIO binaries (built from their Go modules once, cached outside the repo)
#   4. the Python virtual environment of the `command` stage examples (scikit-learn from PyPI, cached outside the repo)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/npm-ensure.sh

if [[ -f infra/tfjs-native/setup.sh ]]; then
  bash infra/tfjs-native/setup.sh
fi

bash infra/stack.sh install

# The examples' workers allow python=<this venv> (pipelines/sklearn-baseline.yaml, test/e2e).
bash pipelines/python/setup-venv.sh >/dev/null

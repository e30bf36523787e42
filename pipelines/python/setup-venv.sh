#!/usr/bin/env bash
# Creates (once) the Python virtual environment the `command` stage examples run in: scikit-learn
# from PyPI, pinned, cached outside the repo like the Keras venv (infra/keras/setup-venv.sh).
# scripts/bootstrap.sh calls it, so `npm test` and `npm run demo` need no manual step. Prints the
# venv's python path on the last line; the worker allows it with
#   FINEFLOW_COMMAND_ALLOW=python=<that path>
# Usage: pipelines/python/setup-venv.sh [scikit-learn version]
set -euo pipefail
version="${1:-${FINEFLOW_SKLEARN_VERSION:-1.9.1}}"
cache_root="${FINEFLOW_CACHE_DIR:-$HOME/.cache/fineflow}"
venv="$cache_root/python-examples/venv-scikit-learn-$version"
mkdir -p "$cache_root/python-examples"
# Two shells at once (a demo and a test run on a fresh machine) must not build the same venv over each
# other: one's `rm -rf` broke the other's ensurepip.
exec 9>"$cache_root/python-examples/setup.lock"
flock 9
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sklearn' >/dev/null 2>&1; then
  echo "python-examples: creating $venv with scikit-learn==$version from PyPI" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "scikit-learn==$version" >&2
fi
echo "$venv/bin/python"

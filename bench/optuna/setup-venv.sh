#!/usr/bin/env bash
# Creates (once) the Python venv that runs Optuna for the sweep benchmark's side-by-side section
# (bench/optuna/optuna_driver.py). The version is pinned; the wheels of Optuna and its dependencies
# are kept in the Fineflow cache, so once they are there the venv can be re-created offline
# (`pip install --no-index`). Prints the venv's python path on the last line.
# Usage: bench/optuna/setup-venv.sh [4.5.0]
set -euo pipefail
optuna_version="${1:-${FINEFLOW_OPTUNA_VERSION:-4.5.0}}"
cache_root="${FINEFLOW_CACHE_DIR:-$HOME/.cache/fineflow}"
wheels="$cache_root/optuna-bench/wheels-$optuna_version"
venv="$cache_root/optuna-bench/venv-$optuna_version"
check="import optuna, sys; sys.exit(0 if optuna.__version__ == '$optuna_version' else 1)"
# Two bench processes started at once would both see no venv, and one would delete the venv the other is
# installing into: the check and the creation run under one lock per cache.
mkdir -p "$cache_root/optuna-bench"
exec 9>"$cache_root/optuna-bench/setup.lock"
flock 9
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  if [[ ! -f "$wheels/.complete" ]]; then
    echo "optuna-bench: downloading optuna==$optuna_version and its dependencies from PyPI into $wheels" >&2
    mkdir -p "$wheels"
    "$venv/bin/python" -m pip download --quiet --disable-pip-version-check -d "$wheels" "optuna==$optuna_version" >&2
    touch "$wheels/.complete"
  fi
  echo "optuna-bench: creating $venv from $wheels (no network)" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --find-links "$wheels" \
    "optuna==$optuna_version" >&2
fi
echo "$venv/bin/python"

#!/usr/bin/env bash
# Creates (once) the Python venv with TensorFlow/Keras that `fineflow models export --format
# keras|savedmodel` runs its converter in (src/ml/models/keras-export.py) and that the Keras
# reference benchmark runs (bench/keras/train_bench.py): TensorFlow from PyPI, the same
# distribution and version the native tfjs binding is built from (infra/tfjs-native), so both sides
# run the same libtensorflow. Cached under $FINEFLOW_CACHE_DIR (default ~/.cache/fineflow)/keras/;
# a later run only checks that it imports. Prints the venv's python path on the last line.
# Usage: infra/keras/setup-venv.sh [tensorflow-cpu] [2.21.0]
set -euo pipefail
wheel_name="${1:-${FINEFLOW_TF_WHEEL:-tensorflow-cpu}}"
wheel_version="${2:-${FINEFLOW_TF_WHEEL_VERSION:-2.21.0}}"
cache_root="${FINEFLOW_CACHE_DIR:-$HOME/.cache/fineflow}"
venv="$cache_root/keras/venv-$wheel_name-$wheel_version"
mkdir -p "$cache_root/keras"
# Two shells at once (tests, bench) must not build the same venv over each other.
exec 9>"$cache_root/keras/setup.lock"
flock 9
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import tensorflow, keras' >/dev/null 2>&1; then
  echo "keras venv: creating $venv with $wheel_name==$wheel_version from PyPI" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  # Reuse the wheel infra/tfjs-native/setup.sh already downloaded, when it fits this Python.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --find-links "$cache_root/tfjs-native/wheels" "$wheel_name==$wheel_version" >&2
fi
echo "$venv/bin/python"

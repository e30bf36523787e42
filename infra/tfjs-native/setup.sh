#!/usr/bin/env bash
# Provisions the native binding of @tensorflow/tfjs-node (lib/napi-v8/tfjs_binding.node) so
# training runs on libtensorflow instead of the pure-JS backend.
#
# tfjs-node's own install script downloads libtensorflow and a prebuilt addon from a storage
# host that firewalled machines cannot reach (and .npmrc keeps npm from running it). This script
# tries, in order, and stops at the first binding that loads:
#   1. nothing to do: the binding already loads;
#   2. restore a binding this script built before, from the cache (keyed by versions);
#   3. tfjs-node's normal install (scripts/install.js), when its download host resolves;
#   4. the registry route: the TensorFlow wheel from PyPI carries libtensorflow_cc.so.2 (which
#      exports the C and eager C APIs), libtensorflow_framework.so.2 and the C headers; the
#      binding is compiled against them with node-gyp and cached.
# It never fails the install: when no route works it prints a warning and exits 0, and Fineflow
# runs on the pure-JS backend (src/ml/backend.ts says so at run time).
#
# Once the binding loads, it also compiles Fineflow's graph addon (src/ml/graph/native, ~5 s,
# cached) against the same libtensorflow: the graph training engine runs a whole training step
# per TensorFlow session call instead of one tfjs call per op. Without it training still runs
# natively, on the slower eager engine (src/ml/train/engine.ts).
#
# Environment:
#   FINEFLOW_CACHE_DIR           cache root (default ~/.cache/fineflow); this uses <root>/tfjs-native
#   FINEFLOW_TF_WHEEL            PyPI distribution carrying libtensorflow (default tensorflow-cpu)
#   FINEFLOW_TF_WHEEL_VERSION    its version (default 2.21.0; the C API is stable across 2.x)
#   FINEFLOW_TFJS_NATIVE_ROUTE   auto (default) | upstream (only step 3) | registry (skip step 3)
set -uo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Where node resolves tfjs-node from Fineflow: the clone's node_modules, or the hoisted copy beside an
# installed package (<prefix>/node_modules/@tensorflow/tfjs-node).
package_dir=$(cd "$repo_dir" && node -p "require('path').dirname(require.resolve('@tensorflow/tfjs-node/package.json'))" 2>/dev/null) ||
  package_dir="$repo_dir/node_modules/@tensorflow/tfjs-node"
cache_dir="${FINEFLOW_CACHE_DIR:-$HOME/.cache/fineflow}/tfjs-native"
wheel_name="${FINEFLOW_TF_WHEEL:-tensorflow-cpu}"
wheel_version="${FINEFLOW_TF_WHEEL_VERSION:-2.21.0}"
route="${FINEFLOW_TFJS_NATIVE_ROUTE:-auto}"
started_at=$SECONDS

say() { echo "tfjs-native: $*"; }
give_up() {
  say "WARNING: $*"
  say "WARNING: continuing without the native TensorFlow backend; training falls back to the pure-JS"
  say "WARNING: backend, which is one to two orders of magnitude slower. Re-run: npm run setup:tf"
  exit 0
}

# Loads the binding in a child node; TF's C++ logging is silenced so only our verdict prints.
binding_loads() {
  (cd "$repo_dir" && TF_CPP_MIN_LOG_LEVEL=3 node -e "
    const tf = require('@tensorflow/tfjs-node');
    if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());
  " >/dev/null 2>"$cache_dir/last-load-error.txt")
}
# Node headers, without node-gyp's download from the Node.js site (sets $nodedir).
resolve_nodedir() {
  # Node headers, without node-gyp's download from the Node.js site: the ones installed with node,
  # else node-gyp's cache, else the Node-API headers package from the npm registry (the binding
  # uses only Node-API, so those suffice).
  node_version=$(node -p 'process.versions.node')
  node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  nodedir=""
  for candidate in "$node_prefix" "${npm_config_devdir:-$HOME/.cache/node-gyp}/$node_version"; do
    [[ -f "$candidate/include/node/common.gypi" && -f "$candidate/include/node/node_api.h" ]] && nodedir="$candidate" && break
  done
  if [[ -z "$nodedir" ]]; then
    nodedir="$cache_dir/node-api-headers"
    if [[ ! -f "$nodedir/include/node/common.gypi" ]]; then
      say "no Node.js headers installed; fetching node-api-headers from the npm registry"
      rm -rf "$nodedir" && mkdir -p "$nodedir/include/node" &&
        tarball=$(cd "$nodedir" && npm pack --silent node-api-headers@1 2>/dev/null | tail -1) &&
        tar -xzf "$nodedir/$tarball" -C "$nodedir" &&
        cp "$nodedir"/package/include/*.h "$nodedir/include/node/" ||
        { say "could not get Node.js headers (none installed, node-api-headers not fetched)"; return 1; }
      # node-gyp wants a common.gypi beside the headers; Node-API addons need only its build configurations.
      printf "%s\n" "{ 'target_defaults': { 'default_configuration': 'Release'," \
        "  'configurations': { 'Release': { 'cflags': ['-O3'] }, 'Debug': {} } } }" > "$nodedir/include/node/common.gypi"
    fi
  fi
}

# Fineflow's graph addon (src/ml/graph/native/fineflow_tf_graph.c) -> build/native/, compiled
# against tfjs-node's libtensorflow (deps/, whichever route provided it) and cached by the hash
# of its source and the library it links. Failure only costs speed: training uses the eager engine.
build_graph_addon() {
  local source="$repo_dir/src/ml/graph/native/fineflow_tf_graph.c" out="$repo_dir/build/native/fineflow_tf_graph.node"
  local deps lib include compiler key cached
  deps=$(readlink -f "$package_dir/deps") || { say "WARNING: no tfjs-node deps/; skipping the graph addon"; return 0; }
  lib="$deps/lib" include="$deps/include"
  if [[ ! -f "$include/tensorflow/c/c_api.h" ]]; then
    say "WARNING: $include has no tensorflow/c/c_api.h; skipping the graph addon (training uses the slower eager engine)"
    return 0
  fi
  compiler=$(command -v cc || command -v gcc || command -v clang) || { say "WARNING: no C compiler; skipping the graph addon (training uses the slower eager engine)"; return 0; }
  key=$( (cat "$source"; echo "$lib"; ls -l "$lib") | sha256sum | cut -c1-16)
  cached="$cache_dir/graph-addon/$key/fineflow_tf_graph.node"
  if [[ -f "$cached" ]]; then
    mkdir -p "$(dirname "$out")" && cp "$cached" "$out.$$" && mv "$out.$$" "$out"
    graph_addon_loads && { say "graph addon restored from the cache ($cached)"; return 0; }
  fi
  resolve_nodedir || { say "WARNING: skipping the graph addon (no Node.js headers)"; return 0; }
  mkdir -p "$(dirname "$cached")" "$(dirname "$out")"
  if ! "$compiler" -shared -fPIC -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -DNODE_GYP_MODULE_NAME=fineflow_tf_graph \
    -I"$nodedir/include/node" -I"$include" "$source" -L"$lib" -ltensorflow -Wl,-rpath,"$lib" \
    -o "$cached.$$" >"$cache_dir/graph-addon-build.log" 2>&1; then
    rm -f "$cached.$$"
    say "WARNING: compiling the graph addon failed ($(head -c 300 "$cache_dir/graph-addon-build.log")); training uses the slower eager engine"
    return 0
  fi
  mv "$cached.$$" "$cached" && cp "$cached" "$out.$$" && mv "$out.$$" "$out"
  if graph_addon_loads; then say "graph addon built ($out)"; else say "WARNING: the graph addon does not load: $(head -c 300 "$cache_dir/last-load-error.txt")"; fi
}

graph_addon_loads() {
  (cd "$repo_dir" && TF_CPP_MIN_LOG_LEVEL=3 node -e "
    require('@tensorflow/tfjs-node');
    const addon = require('./build/native/fineflow_tf_graph.node');
    if (typeof addon.sessionRun !== 'function') throw new Error('no sessionRun');
  " >/dev/null 2>"$cache_dir/last-load-error.txt")
}

loaded() {
  local version
  version=$(cd "$repo_dir" && TF_CPP_MIN_LOG_LEVEL=3 node -p "require('@tensorflow/tfjs-node').version.tfjs" 2>/dev/null)
  say "native binding loads (tfjs $version, via $1) in $((SECONDS - started_at))s"
  build_graph_addon
  exit 0
}

[[ -d "$package_dir" ]] || give_up "node_modules/@tensorflow/tfjs-node is not installed (run npm ci first)"
command -v node >/dev/null || give_up "node is not on PATH"
mkdir -p "$cache_dir" || give_up "cannot create the cache directory $cache_dir"

if binding_loads; then loaded "the existing build"; fi

# The routes below fill the shared cache (wheel download, extraction into a fixed staging dir, the
# cached binding): clones set up at once on a fresh machine (a demo beside a test run) take turns.
exec 8>"$cache_dir/setup.lock"
flock 8

# Where tfjs-node looks for its binding (lib/napi-v<N>/tfjs_binding.node): ask node-pre-gyp, as
# tfjs-node itself does, so the N-API version matches what it will load.
binding_path=$(cd "$package_dir" && node -p "require('@mapbox/node-pre-gyp').find(require('path').resolve('package.json'))" 2>/dev/null) ||
  give_up "cannot resolve tfjs-node's binding path through @mapbox/node-pre-gyp"
napi_dir=$(basename "$(dirname "$binding_path")")
tfjs_node_version=$(node -p "require('$package_dir/package.json').version")
platform="$(node -p 'process.platform')-$(node -p 'process.arch')"
lib_dir="$cache_dir/libtensorflow/$wheel_name-$wheel_version-$platform"
binding_cache="$cache_dir/binding/tfjs-node-$tfjs_node_version-$napi_dir-$platform-$wheel_name-$wheel_version/tfjs_binding.node"

# Points tfjs-node's deps/ (where the binding's rpath $ORIGIN/../../deps/lib looks) at our libtensorflow.
link_deps() {
  rm -rf "$package_dir/deps" && ln -s "$lib_dir" "$package_dir/deps"
}

# --- 2. a binding built earlier on this machine (another clone, or before `npm ci` wiped node_modules)
if [[ "$route" != upstream && -f "$binding_cache" && -f "$lib_dir/lib/libtensorflow_cc.so.2" ]]; then
  link_deps && mkdir -p "$(dirname "$binding_path")" && cp "$binding_cache" "$binding_path"
  if binding_loads; then loaded "the cached registry build $binding_cache"; fi
  say "the cached binding did not load ($(head -c 300 "$cache_dir/last-load-error.txt")); rebuilding"
fi

# --- 3. tfjs-node's normal install, on a machine that reaches its download host
if [[ "$route" != registry ]]; then
  say "trying tfjs-node's own install (scripts/install.js)"
  if (cd "$package_dir" && timeout 300 node scripts/install.js >"$cache_dir/upstream-install.log" 2>&1) && binding_loads; then
    loaded "tfjs-node's own install (libtensorflow from its download host)"
  fi
  say "tfjs-node's own install failed: $(grep -m1 -E 'Error:|ERR!|failed' "$cache_dir/upstream-install.log" | head -c 200)"
  [[ "$route" == upstream ]] && give_up "FINEFLOW_TFJS_NATIVE_ROUTE=upstream and tfjs-node's own install failed (log: $cache_dir/upstream-install.log)"
fi

# --- 4. the registry route
[[ "$platform" == linux-x64 ]] || give_up "the registry route supports linux-x64 only (this is $platform)"
python=$(command -v python3 || command -v python) || give_up "python3 is needed to fetch the TensorFlow wheel from PyPI"

if [[ ! -f "$lib_dir/lib/libtensorflow_cc.so.2" ]]; then
  wheel_glob="${wheel_name//-/_}-$wheel_version-*.whl"
  wheel=$(compgen -G "$cache_dir/wheels/$wheel_glob" | head -1)
  if [[ -z "$wheel" ]]; then
    say "downloading $wheel_name==$wheel_version from PyPI (about 280 MB, once)"
    # The native libraries do not depend on the Python version, so when this interpreter has no
    # matching wheel, take the CPython 3.11 one.
    "$python" -m pip download --quiet --no-deps --only-binary=:all: -d "$cache_dir/wheels" "$wheel_name==$wheel_version" ||
      "$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
        --platform manylinux_2_27_x86_64 -d "$cache_dir/wheels" "$wheel_name==$wheel_version" ||
      give_up "pip could not download $wheel_name==$wheel_version"
    wheel=$(compgen -G "$cache_dir/wheels/$wheel_glob" | head -1)
  fi
  [[ -n "$wheel" ]] || give_up "no $wheel_glob in $cache_dir/wheels after pip download"
  say "extracting libtensorflow and the C API headers from $(basename "$wheel")"
  staging="$lib_dir.partial"
  rm -rf "$staging"
  "$python" - "$wheel" "$staging" <<'PY' || give_up "extracting $wheel failed"
import os, shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
libraries = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
# Only the headers that tensorflow/c/c_api.h and tensorflow/c/eager/c_api.h reach.
header_prefixes = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/ctstring',
                   'tensorflow/include/tsl/platform/ctstring', 'tensorflow/include/xla/tsl/c/')
found = set()
with zipfile.ZipFile(wheel) as archive:
    for member in archive.namelist():
        if member in libraries:
            target = os.path.join(out, 'lib', os.path.basename(member))
        elif member.startswith(header_prefixes) and not member.endswith('/'):
            target = os.path.join(out, 'include', member[len('tensorflow/include/'):])
        else:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with archive.open(member) as source, open(target, 'wb') as sink:
            shutil.copyfileobj(source, sink)
        found.add(member)
missing = libraries - found
if missing or not os.path.exists(os.path.join(out, 'include/tensorflow/c/eager/c_api.h')):
    sys.exit(f'the wheel lacks {sorted(missing) or "tensorflow/c/eager/c_api.h"}')
PY
  # binding.gyp links -ltensorflow -ltensorflow_framework; the wheel's libtensorflow_cc carries
  # the C API, and its SONAME (libtensorflow_cc.so.2) is what the binding will record.
  ln -s libtensorflow_cc.so.2 "$staging/lib/libtensorflow.so"
  ln -s libtensorflow_framework.so.2 "$staging/lib/libtensorflow_framework.so"
  # (grep without -q: with pipefail, -q's early exit would fail nm with SIGPIPE)
  nm -D --defined-only "$staging/lib/libtensorflow_cc.so.2" 2>/dev/null | grep ' TFE_Execute' >/dev/null ||
    give_up "libtensorflow_cc.so.2 from $wheel_name $wheel_version does not export the eager C API (TFE_Execute)"
  rm -rf "$lib_dir" && mkdir -p "$(dirname "$lib_dir")" && mv "$staging" "$lib_dir"
fi

# node-gyp: npm's own copy, else one on PATH.
node_gyp=""
for candidate in "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js" \
  "$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"; do
  [[ -f "$candidate" ]] && node_gyp="node $candidate" && break
done
[[ -z "$node_gyp" ]] && command -v node-gyp >/dev/null && node_gyp=node-gyp
[[ -n "$node_gyp" ]] || give_up "node-gyp not found (it ships with npm)"
command -v make >/dev/null && command -v g++ >/dev/null || give_up "a C++ toolchain (make, g++) is needed to build the binding"

resolve_nodedir || give_up "could not get Node.js headers (none installed, node-api-headers not fetched)"
say "building tfjs_binding.node against $wheel_name $wheel_version (node headers: $nodedir)"
link_deps || give_up "cannot link $package_dir/deps to $lib_dir"
napi_build_version=${napi_dir#napi-v}
build_log="$cache_dir/node-gyp-build.log"
if ! (cd "$package_dir" && $node_gyp rebuild --nodedir="$nodedir" --jobs=2 \
  --module_name=tfjs_binding --module_path="$(dirname "$binding_path")" --napi_build_version="$napi_build_version" \
  >"$build_log" 2>&1); then
  give_up "node-gyp failed: $(grep -m3 -E 'error' "$build_log" | tr '\n' ' ' | head -c 400) (log: $build_log)"
fi
[[ -f "$binding_path" ]] || give_up "node-gyp reported success but $binding_path does not exist (log: $build_log)"
binding_loads || give_up "the built binding does not load: $(head -c 400 "$cache_dir/last-load-error.txt")"
# Copy then rename, so another clone running this at the same time never sees half a file.
mkdir -p "$(dirname "$binding_cache")" && cp "$binding_path" "$binding_cache.$$" && mv "$binding_cache.$$" "$binding_cache"
loaded "the registry route ($wheel_name $wheel_version from PyPI, cached in $cache_dir)"

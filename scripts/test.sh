#!/usr/bin/env bash
# The one test command (`npm test`, and `.ci/run`): typecheck, lint, then every test file
# under test/ with node's built-in runner. Integration and end-to-end tests need the local
# Temporal + MinIO stack: this script starts a dedicated one (own ports and state dir, so a
# developer's `fineflow dev up` stack is left alone) and stops it afterwards.
usage() {
  cat <<'USAGE'
usage: scripts/test.sh [all|unit|integration|security] [--quick] [--list] [--name PATTERN] [PATH…]
  PATH            a test file (*.test.ts) or a directory: every *.test.ts under it; default: the scope's directories
  --quick         skip typecheck, lint, format, import and metrics checks (a targeted run; npm test and CI keep them)
  --list          print the test files the arguments select, then exit (no checks, no stack, no tests)
  --name PATTERN  run only the tests whose name matches PATTERN (node --test-name-pattern)
environment:
  FINEFLOW_PROPERTY_SEED=N|random  property tests' seed (default: one fixed seed, the same on every run)
  FINEFLOW_TEST_TIMINGS=FILE       write each file's time (JSON lines) to FILE and its before-hook times to FILE.hooks
examples:
  scripts/test.sh unit test/unit/cache                  # the cache unit tests, after the checks
  scripts/test.sh unit --quick test/unit/cache/rerun-selection.test.ts
  scripts/test.sh integration --quick --name 'rerun dialog' test/e2e/ui.test.ts
USAGE
}
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."
repo_dir=$PWD

# The scope is the first word that is not an option (options may come before it).
scope='' quick=0 list=0 name_pattern='' paths=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    all | unit | integration | security) if [[ -z $scope && ${#paths[@]} -eq 0 ]]; then scope=$1; else paths+=("$1"); fi ;;
    --quick) quick=1 ;;
    --list) list=1 ;;
    --name) [[ $# -ge 2 ]] || { echo "scripts/test.sh: --name needs a PATTERN" >&2; exit 2; }; name_pattern=$2; shift ;;
    --name=*) name_pattern=${1#--name=} ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "scripts/test.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) paths+=("$1") ;;
  esac
  shift
done

# Up to three test files whose name contains the missing path's last part: a typo's likely target.
similar_tests() {
  local stem
  stem=$(basename "$1"); stem=${stem%.test.ts}; stem=${stem%.ts}
  if [[ -n $stem ]]; then find test -name "*${stem}*.test.ts" 2>/dev/null | sort | head -3 | paste -sd ' ' - || true; fi
}

# Each PATH as repo-relative test files: a directory gives every *.test.ts under it; anything that
# selects no test file is an error naming it (node --test would run nothing and pass).
resolve_paths() {
  local arg abs rel found near message
  for arg in "$@"; do
    abs=$(cd "$caller_dir" && realpath -m -- "$arg")
    rel=$(realpath -m --relative-to="$repo_dir" -- "$abs")
    if [[ -d $abs ]]; then
      found=$(find "$rel" -name '*.test.ts' -not -path '*/node_modules/*' | sort)
      [[ -n $found ]] || { echo "scripts/test.sh: $arg: no *.test.ts file under this directory" >&2; return 2; }
      echo "$found"
    elif [[ -f $abs && $abs == *.test.ts ]]; then
      echo "$rel"
    elif [[ -f $abs ]]; then
      echo "scripts/test.sh: $arg is not a test file: give a *.test.ts file or a directory holding some" >&2
      return 2
    else
      near=$(similar_tests "$arg")
      message="$arg matches no test: no such file or directory${near:+; did you mean $near?}"
      [[ $arg == */* ]] || message+='; a scope (the first argument) is all, unit, integration or security'
      echo "scripts/test.sh: $message" >&2
      return 2
    fi
  done
}

scope=${scope:-all}
files=()
if [[ ${#paths[@]} -eq 0 ]]; then
  case "$scope" in
    unit) paths=(test/unit) ;;
    integration) paths=(test/integration test/security test/e2e test/browser) ;;
    security) paths=(test/security) ;;
    all) paths=(test/unit test/integration test/security test/e2e test/browser) ;;
  esac
fi
resolved=$(resolve_paths "${paths[@]}") || exit 2
while IFS= read -r f; do files+=("$f"); done < <(awk 'NF && !seen[$0]++' <<<"$resolved")
if [[ $list == 1 ]]; then printf '%s\n' "${files[@]}"; exit 0; fi

# Held shared for the whole run: scripts/npm-ensure.sh will not npm ci (deleting node_modules) under it.
mkdir -p .fineflow/locks
exec 9>.fineflow/locks/test-run.lock
flock -s 9
export FINEFLOW_TEST_RUN_LOCK_FD=9 FINEFLOW_TEST_RUN_PID=$$
echo $$ > ".fineflow/locks/test-run.$$.pid"
started=0
cleanup() {
  if [[ $started == 1 ]]; then bash infra/stack.sh down >/dev/null 2>&1 || true; fi
  rm -f ".fineflow/locks/test-run.$$.pid"
}
trap cleanup EXIT

bash scripts/bootstrap.sh

# A dedicated stack for tests; FINEFLOW_TEST_* choose another one (e.g. two test runs at once).
export FINEFLOW_STACK_DIR="${FINEFLOW_TEST_STACK_DIR:-$PWD/.fineflow/test-stack}"
export FINEFLOW_TEMPORAL_PORT="${FINEFLOW_TEST_TEMPORAL_PORT:-7244}"
export FINEFLOW_TEMPORAL_UI_PORT="${FINEFLOW_TEST_TEMPORAL_UI_PORT:-8244}"
export FINEFLOW_MINIO_PORT="${FINEFLOW_TEST_MINIO_PORT:-9244}"
export FINEFLOW_MINIO_CONSOLE_PORT="${FINEFLOW_TEST_MINIO_CONSOLE_PORT:-9245}"
# infra/stack.sh's port messages then name FINEFLOW_TEST_*_PORT, the variables this script reads.
export FINEFLOW_STACK_PORT_VARIABLES=FINEFLOW_TEST_ FINEFLOW_STACK_UP_COMMAND='bash scripts/test.sh …'
# shellcheck source=../infra/stack-env.sh
source infra/stack-env.sh
# Every worker this run starts, in any test process, takes its workflow bundle from here: webpack runs once per
# distinct set of workflow sources and bundler options, not in each file (src/worker/workflow-bundle-cache.ts).
# Set it empty to bundle in each process as `fineflow worker` does (FINEFLOW_WORKFLOW_BUNDLE_CACHE= scripts/test.sh …).
export FINEFLOW_WORKFLOW_BUNDLE_CACHE="${FINEFLOW_WORKFLOW_BUNDLE_CACHE-$repo_dir/.fineflow/workflow-bundles}"

if [[ "$scope" != "integration" && $quick == 0 ]]; then
  echo "== typecheck"; npx tsc -p . && npx tsc -p src/ui/web
  echo "== lint"; npx eslint --max-warnings 0 .
  echo "== format (prettier, 120 columns; fix with npm run format)"; npx prettier --check --log-level warn .
  echo "== imports (cycles, layers)"; npx depcruise --config .dependency-cruiser.cjs src workflows activities bench test
  echo "== code metrics (only go down: scripts/lint-metrics-ceiling.json)"; node --import tsx scripts/lint-metrics.ts --check
fi

needs_stack=0 needs_chromium=0
for f in "${files[@]}"; do [[ "$f" == test/integration/* || "$f" == test/security/* || "$f" == test/e2e/* ]] && needs_stack=1; done
# test/browser: the web app's code in Chromium, on no stack.
for f in "${files[@]}"; do [[ "$f" == test/e2e/* || "$f" == test/browser/* ]] && needs_chromium=1; done
if [[ $needs_chromium == 1 ]]; then bash scripts/ensure-chromium.sh; fi
if [[ $needs_stack == 1 ]]; then
  echo "== starting test stack (Temporal :$FINEFLOW_TEMPORAL_PORT, MinIO :$FINEFLOW_MINIO_PORT)"
  bash infra/stack.sh up 9>&- # the servers outlive this script: they must not hold the run lock
  started=1
fi

echo "== tests (${#files[@]} files)"
status=0
name_args=()
if [[ -n $name_pattern ]]; then name_args=(--test-name-pattern "$name_pattern"); fi
# FINEFLOW_TEST_TIMINGS=FILE: per-file times and before-hook times as JSON lines in FILE (measuring the suite).
timing_args=()
if [[ -n ${FINEFLOW_TEST_TIMINGS:-} ]]; then
  FINEFLOW_TEST_TIMINGS=$(cd "$caller_dir" && realpath -m -- "$FINEFLOW_TEST_TIMINGS")
  export FINEFLOW_TEST_TIMINGS
  timing_args=(--import ./test/helpers/hook-timing.mjs --test-reporter=./test/helpers/timing-reporter.mjs
    --test-reporter-destination="$FINEFLOW_TEST_TIMINGS")
fi
node --import tsx --import ./test/helpers/property-seed.mjs "${timing_args[@]}" --test --test-concurrency=1 \
  --test-reporter=./test/helpers/quiet-spec-reporter.mjs --test-reporter-destination=stdout "${name_args[@]}" "${files[@]}" 9>&- || status=$?
if [[ $started == 1 ]]; then bash infra/stack.sh down >/dev/null 2>&1 || true; fi
started=0
exit $status

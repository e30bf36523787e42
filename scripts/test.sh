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
  FINEFLOW_TEST_LANES=1            one process for every file; by default the files that need the test stack run on
                                   it while the checks and the files that need none run beside them
  FINEFLOW_TEST_STACKS=1           the stack's files on one test stack; by default every other one runs on a second
                                   stack (state dir <first>-2, the first stack's ports + 4)
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

checks=0
if [[ "$scope" != "integration" && $quick == 0 ]]; then checks=1; fi
run_checks() {
  echo "== typecheck"; npx tsc -p . && npx tsc -p src/ui/web || return
  echo "== lint"; npx eslint --max-warnings 0 . || return
  echo "== format (prettier, 120 columns; fix with npm run format)"; npx prettier --check --log-level warn . || return
  echo "== imports (cycles, layers)"; npx depcruise --config .dependency-cruiser.cjs src workflows activities bench test || return
  echo "== code metrics (only go down: scripts/lint-metrics-ceiling.json)"; node --import tsx scripts/lint-metrics.ts --check
}

# Lanes: the files that need a stack (integration, security, e2e) run one at a time per test stack, since some stop
# Temporal or MinIO mid-test (split over two stacks below); the files that need none (unit, browser) and the checks
# run beside them in another process, so the whole suite takes about as long as one stack's files.
# FINEFLOW_TEST_LANES=1 runs everything in one process, one file at a time, in the order given.
stack_files=() free_files=()
for f in "${files[@]}"; do
  case "$f" in
    test/integration/* | test/security/* | test/e2e/*) stack_files+=("$f") ;;
    *) free_files+=("$f") ;;
  esac
done
lanes=0
if [[ ${#stack_files[@]} -gt 0 && ${#free_files[@]} -gt 0 && ${FINEFLOW_TEST_LANES:-2} != 1 ]]; then lanes=1; fi
needs_chromium=0
# test/browser: the web app's code in Chromium, on no stack.
for f in "${files[@]}"; do [[ "$f" == test/e2e/* || "$f" == test/browser/* ]] && needs_chromium=1; done
if [[ $needs_chromium == 1 ]]; then bash scripts/ensure-chromium.sh; fi

name_args=()
if [[ -n $name_pattern ]]; then name_args=(--test-name-pattern "$name_pattern"); fi
# FINEFLOW_TEST_TIMINGS=FILE: per-file times and before-hook times as JSON lines in FILE (measuring the suite).
if [[ -n ${FINEFLOW_TEST_TIMINGS:-} ]]; then
  FINEFLOW_TEST_TIMINGS=$(cd "$caller_dir" && realpath -m -- "$FINEFLOW_TEST_TIMINGS")
  export FINEFLOW_TEST_TIMINGS
fi
# run_tests TIMINGS_FILE FILE…: node's runner over the files, one at a time (TIMINGS_FILE empty: no timings).
run_tests() {
  local timings=$1 reporter_args=()
  shift
  if [[ -n $timings ]]; then
    reporter_args=(--import ./test/helpers/hook-timing.mjs --test-reporter=./test/helpers/timing-reporter.mjs
      --test-reporter-destination="$timings")
  fi
  if [[ -n ${COUNTS_FILE:-} ]]; then
    reporter_args+=(--test-reporter=./test/helpers/lane-counts.mjs --test-reporter-destination="$COUNTS_FILE")
  fi
  local -x FINEFLOW_TEST_TIMINGS=$timings
  node --import tsx --import ./test/helpers/property-seed.mjs "${reporter_args[@]}" --test --test-concurrency=1 \
    --test-reporter=./test/helpers/quiet-spec-reporter.mjs --test-reporter-destination=stdout "${name_args[@]}" "$@" 9>&-
}
start_stack() {
  echo "== starting test stack (Temporal :$FINEFLOW_TEMPORAL_PORT, MinIO :$FINEFLOW_MINIO_PORT)"
  bash infra/stack.sh up 9>&- # the servers outlive this script: they must not hold the run lock
  started=1
}

if [[ $lanes == 0 ]]; then
  if [[ $checks == 1 ]]; then run_checks || exit 1; fi
  if [[ ${#stack_files[@]} -gt 0 ]]; then start_stack; fi
  echo "== tests (${#files[@]} files)"
  status=0
  run_tests "${FINEFLOW_TEST_TIMINGS:-}" "${files[@]}" || status=$?
  if [[ $started == 1 ]]; then bash infra/stack.sh down >/dev/null 2>&1 || true; fi
  started=0
  exit $status
fi

# The stack's files are split over two test stacks (the second on its own state dir and on the first's ports + 4),
# each stack's files one at a time: the stack's lane waits far more than it computes, and a file that stops Temporal
# or MinIO stops only its own stack. FINEFLOW_TEST_STACKS=1 keeps them on one stack. The first stack's lane prints as
# it goes; the others' logs are kept in files and printed after it, then every lane's failures and counts.
lane_dir=.fineflow/test-lanes
mkdir -p "$lane_dir"
free_log="$lane_dir/without-stack.$$.log" second_log="$lane_dir/second-stack.$$.log"
free_timings=${FINEFLOW_TEST_TIMINGS:+$FINEFLOW_TEST_TIMINGS.without-stack}
second_timings=${FINEFLOW_TEST_TIMINGS:+$FINEFLOW_TEST_TIMINGS.second-stack}
stack_counts="$lane_dir/stack.$$.counts.json" free_counts="$lane_dir/without-stack.$$.counts.json"
second_counts="$lane_dir/second-stack.$$.counts.json"
rm -f "$stack_counts" "$free_counts" "$second_counts"
first_files=() second_files=()
if [[ ${FINEFLOW_TEST_STACKS:-2} == 1 || ${#stack_files[@]} -lt 2 ]]; then
  first_files=("${stack_files[@]}")
else
  for i in "${!stack_files[@]}"; do
    if ((i % 2 == 0)); then first_files+=("${stack_files[$i]}"); else second_files+=("${stack_files[$i]}"); fi
  done
fi
second_dir="$FINEFLOW_STACK_DIR-2"
second_env() {
  export FINEFLOW_STACK_DIR=$second_dir FINEFLOW_TEMPORAL_PORT=$((FINEFLOW_TEMPORAL_PORT + 4))
  export FINEFLOW_TEMPORAL_UI_PORT=$((FINEFLOW_TEMPORAL_UI_PORT + 4)) FINEFLOW_MINIO_PORT=$((FINEFLOW_MINIO_PORT + 4))
  export FINEFLOW_MINIO_CONSOLE_PORT=$((FINEFLOW_MINIO_CONSOLE_PORT + 4))
  # shellcheck source=../infra/stack-env.sh
  source infra/stack-env.sh
}
stack_pid='' free_pid='' second_pid=''
# Each lane is its own process group (set -m), so a failed check, Ctrl-C or an exit stops a lane with all its files.
# A test process with a Temporal worker shuts it down gracefully on SIGTERM: give the group 15 s, then SIGKILL.
stop_lane() {
  local group=$1 tries=0
  kill -TERM -- "-$group" 2>/dev/null || return 0
  while kill -0 -- "-$group" 2>/dev/null && ((tries++ < 30)); do sleep 0.5; done
  kill -KILL -- "-$group" 2>/dev/null || true
}
stop_lanes() {
  local pid
  for pid in $stack_pid $second_pid $free_pid; do stop_lane "$pid"; done
  if [[ ${#second_files[@]} -gt 0 ]]; then (second_env && bash infra/stack.sh down >/dev/null 2>&1) || true; fi
}
trap 'stop_lanes; cleanup; rm -f "$free_log" "$second_log" "$stack_counts" "$free_counts" "$second_counts"' EXIT
trap 'exit 130' INT TERM
lanes_started=$(date +%s%3N)
beside=''
if [[ $checks == 1 ]]; then beside='the checks and '; fi
set -m
(
  if [[ $checks == 1 ]]; then run_checks || exit 90; fi
  echo "== tests without the stack (${#free_files[@]} files)"
  COUNTS_FILE=$free_counts run_tests "$free_timings" "${free_files[@]}"
) >"$free_log" 2>&1 9>&- &
free_pid=$!
if [[ ${#second_files[@]} -gt 0 ]]; then
  (
    second_env
    echo "== starting a second test stack (Temporal :$FINEFLOW_TEMPORAL_PORT, MinIO :$FINEFLOW_MINIO_PORT)"
    bash infra/stack.sh up || exit 1
    echo "== tests on the second stack (${#second_files[@]} files)"
    status=0
    COUNTS_FILE=$second_counts run_tests "$second_timings" "${second_files[@]}" || status=$?
    bash infra/stack.sh down >/dev/null 2>&1 || true
    exit $status
  ) >"$second_log" 2>&1 9>&- &
  second_pid=$!
fi
set +m
echo "== beside the stack's tests: $beside${#free_files[@]} files that need no stack${second_pid:+, and ${#second_files[@]} files on a second stack} (their logs follow)"
start_stack
echo "== tests on the stack (${#first_files[@]} files)"
set -m
COUNTS_FILE=$stack_counts run_tests "${FINEFLOW_TEST_TIMINGS:-}" "${first_files[@]}" 9>&- &
stack_pid=$!
set +m
declare -A lane_status=()
lane_pids=("$stack_pid" "$free_pid" ${second_pid:+"$second_pid"})
while [[ ${#lane_status[@]} -lt ${#lane_pids[@]} ]]; do
  finished='' code=0 running=()
  for pid in "${lane_pids[@]}"; do [[ -n ${lane_status[$pid]:-} ]] || running+=("$pid"); done
  wait -n -p finished "${running[@]}" || code=$?
  if [[ -n $finished ]]; then lane_status[$finished]=$code; fi
  if [[ ${lane_status[$free_pid]:-} == 90 ]]; then
    for pid in "$stack_pid" $second_pid; do
      if [[ -z ${lane_status[$pid]:-} ]]; then
        echo "== the checks failed (their output follows): stopping the stack's tests"
        stop_lane "$pid"
        wait "$pid" 2>/dev/null || true
        lane_status[$pid]=1
      fi
    done
  fi
done
stack_status=${lane_status[$stack_pid]} free_status=${lane_status[$free_pid]} second_status=${second_pid:+${lane_status[$second_pid]}}
stack_pid='' free_pid='' second_pid=''
bash infra/stack.sh down >/dev/null 2>&1 || true
started=0
if [[ ${#second_files[@]} -gt 0 ]]; then
  (second_env && bash infra/stack.sh down >/dev/null 2>&1) || true
  echo
  echo "== the lane on the second stack: ${#second_files[@]} files"
  cat "$second_log"
fi
echo
echo "== the lane beside the stack's: $beside${#free_files[@]} files"
cat "$free_log"
for extra in "$free_timings" "$second_timings"; do
  if [[ -n $extra && -f $extra ]]; then
    cat "$extra" >>"$FINEFLOW_TEST_TIMINGS" && rm -f "$extra"
    if [[ -f $extra.hooks ]]; then cat "$extra.hooks" >>"$FINEFLOW_TEST_TIMINGS.hooks" && rm -f "$extra.hooks"; fi
  fi
done
# The log ends with every lane's failing tests and their counts added up, in the form node's runner prints one run's.
counts=("$stack_counts" "$free_counts")
if [[ ${#second_files[@]} -gt 0 ]]; then counts+=("$second_counts"); fi
node test/helpers/lane-counts.mjs --since "$lanes_started" "${counts[@]}"
if [[ $stack_status != 0 || $free_status != 0 || ${second_status:-0} != 0 ]]; then exit 1; fi

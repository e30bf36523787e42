#!/usr/bin/env bash
# Installs node_modules (npm ci) only when package-lock.json changed since the last install, one
# installer at a time, and never while a scripts/test.sh of this checkout runs: npm ci deletes
# node_modules first, which breaks every process of the checkout that is using it.
#   - up to date (the lockfile's sha256 equals node_modules/.fineflow-lock-sha256, or npm's record of the
#     installed tree says what the lockfile says: a manual npm ci/install, scripts/npm-tree-matches-lock.mjs):
#     nothing happens but writing the stamp;
#   - .fineflow/locks/npm-install.lock serialises installers; a waiting one finds the work done;
#   - every scripts/test.sh holds .fineflow/locks/test-run.lock shared for its whole run (and passes its
#     descriptor as FINEFLOW_TEST_RUN_LOCK_FD); an install needs it exclusive, and refuses, naming the
#     running test.sh processes, when it cannot have it.
# Usage: scripts/npm-ensure.sh [CHECKOUT]   (default: the checkout this script is in)
set -euo pipefail
scripts_dir="$(cd "$(dirname "$0")" && pwd)"
cd "${1:-$scripts_dir/..}"

stamp=node_modules/.fineflow-lock-sha256
lock_sha() { sha256sum package-lock.json | cut -d' ' -f1; }
up_to_date() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$(lock_sha)" ]] && return 0
  node "$scripts_dir/npm-tree-matches-lock.mjs" . || return 1
  lock_sha > "$stamp"
}
up_to_date && exit 0

locks=.fineflow/locks
mkdir -p "$locks"
exec 8>"$locks/npm-install.lock"
flock 8
up_to_date && exit 0

run_fd="${FINEFLOW_TEST_RUN_LOCK_FD:-}"
if [[ -z "$run_fd" ]]; then
  exec 9>"$locks/test-run.lock"
  run_fd=9
fi
if ! flock -x -n "$run_fd"; then
  others=""
  for file in "$locks"/test-run.*.pid; do
    [[ -e "$file" ]] || continue
    pid="$(basename "$file" .pid)"; pid="${pid#test-run.}"
    [[ "$pid" != "${FINEFLOW_TEST_RUN_PID:-}" ]] && kill -0 "$pid" 2>/dev/null && others+=" $pid"
  done
  echo "npm-ensure: package-lock.json changed, so node_modules must be reinstalled (npm ci), but another" \
    "scripts/test.sh of this checkout is running (pid${others:- unknown}) and npm ci would delete node_modules" \
    "under it. Run bash scripts/bootstrap.sh again once it has ended." >&2
  exit 1
fi
echo "bootstrap: installing npm dependencies (npm ci)"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
lock_sha > "$stamp"
# Inside a test run: back to shared, so other test runs may start while this one goes on.
if [[ -n "${FINEFLOW_TEST_RUN_LOCK_FD:-}" ]]; then flock -s "$run_fd"; fi

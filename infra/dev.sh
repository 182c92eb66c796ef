#!/usr/bin/env bash
# `make dev`: the whole stack in the foreground on the fixed ports of API.md. Ctrl-C stops it all.
set -euo pipefail
STACK_ROLE=dev
source "$(dirname "$0")/stack.sh"
cd "$ROOT"
# The API on 9000 is the local gateway; cargo lambda watch (the functions and their Invoke API) behind it on 9001.
DDB_PORT=8000 SQS_PORT=9324 API_PORT=9000 WATCH_PORT=9001 OIDC_PORT=4400
DATA_DIR="$ROOT/.local"
mkdir -p "$DATA_DIR/dynamodb"

for p in $DDB_PORT $SQS_PORT $API_PORT $WATCH_PORT $OIDC_PORT; do
  port_free "$p" || { say "port $p is taken (another make dev?); stop what holds it first"; exit 1; }
done

bash "$ROOT/infra/tools.sh"
trap 'stop_all; say "stopped"' EXIT
trap 'exit 130' INT TERM

say "building the functions and tools"
cargo build --workspace --bins
build_functions

export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$SQS_PORT"
# moto serves every service on one port: SSM (the secrets key's parameter) lives there too.
export AWS_ENDPOINT_URL_SSM="http://127.0.0.1:$SQS_PORT"
start_dynamodb "$DDB_PORT" "$DATA_DIR/dynamodb.log" -dbPath "$DATA_DIR/dynamodb"
start_sqs "$SQS_PORT" "$DATA_DIR/sqs.log"

say "creating the tables and queues of template.yaml"
# shellcheck disable=SC2046 # console_params is a list of arguments
local_stack setup --stack local $(console_params "$OIDC_PORT") --env-file "$DATA_DIR/functions.env"
{ echo "AWS_ENDPOINT_URL_DYNAMODB='$AWS_ENDPOINT_URL_DYNAMODB'"; echo "AWS_ENDPOINT_URL_SQS='$AWS_ENDPOINT_URL_SQS'"; echo "AWS_ENDPOINT_URL_SSM='$AWS_ENDPOINT_URL_SSM'"; echo "AWS_ENDPOINT_URL_LAMBDA='http://127.0.0.1:$WATCH_PORT'"; } >> "$DATA_DIR/functions.env"
start_oidc "$OIDC_PORT" "$DATA_DIR/oidc.log"
oidc_env >> "$DATA_DIR/functions.env"

start_watch_and_gateway "$DATA_DIR"
say "seeding one enabled demo configuration per blueprint"
local_stack seed --api "http://127.0.0.1:$API_PORT"
start "poller (queues, outbox stream)" "$DATA_DIR/poller.log" "$ROOT/target/debug/local-stack" poll --stack local --invoke-url "http://127.0.0.1:$WATCH_PORT"
# The worker's schedules, as EventBridge Scheduler runs them in AWS: the drift sweep of every
# configuration (hourly here, daily in AWS) and the sweep of claims left unqueued.
start "drift sweeps" "$DATA_DIR/drift.log" "$ROOT/target/debug/local-stack" sweep --name drift --invoke-url "http://127.0.0.1:$WATCH_PORT" --every "${DRIFT_EVERY:-3600}"
start "received-events sweeps" "$DATA_DIR/sweep.log" "$ROOT/target/debug/local-stack" sweep --name received-events --invoke-url "http://127.0.0.1:$WATCH_PORT" --every 300

ADMIN=$(local_stack token --role admin --sub local-admin)
CLIENT=$(local_stack token --role client --client-id client-1 --sub local-client)
cat <<MSG

  The local stack is up (logs in .local/; Ctrl-C stops everything).
    Console           http://127.0.0.1:$API_PORT/console   (sign in with a user below)
    API               http://127.0.0.1:$API_PORT   (the local gateway, routes of template.yaml; cargo lambda watch behind it on $WATCH_PORT)
    DynamoDB Local    http://127.0.0.1:$DDB_PORT   (data kept in .local/dynamodb)
    SQS (moto)        http://127.0.0.1:$SQS_PORT
    OIDC provider     $OIDC_ISSUER   (sign-in for the console; the API trusts its tokens)
      users (new passwords at each start):  admin / $OIDC_PASSWORD_ADMIN
                                            alice / $OIDC_PASSWORD_ALICE   (client-1)
                                            bob   / $OIDC_PASSWORD_BOB   (client-2)

  Tokens (valid 24 h; more with: make token ROLE=client CLIENT_ID=c-42):
    export ADMIN_TOKEN=$ADMIN
    export CLIENT_TOKEN=$CLIENT

  Try:
    curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" http://127.0.0.1:$API_PORT/blueprints | head -c 600
    curl -s -H "Authorization: Bearer \$CLIENT_TOKEN" http://127.0.0.1:$API_PORT/blueprints | head -c 300
    curl -s http://127.0.0.1:$API_PORT/blueprints          # 401 unauthenticated
    curl -s http://127.0.0.1:$API_PORT/no/such/route       # 404 not_found
    curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" "http://127.0.0.1:$API_PORT/provision-configurations?blueprint=web-hosting"

  A hosting service from sale to suspension (the demo provider plays the control panel):
    curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" -H 'content-type: application/json' http://127.0.0.1:$API_PORT/products \\
      -d '{"name":"Starter hosting","blueprint":"web-hosting","deployment":{"type":"dynamic"},"provision_fields":{"package_name":"starter"}}'
    curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" -H 'content-type: application/json' http://127.0.0.1:$API_PORT/contract-products \\
      -d '{"id":"billing-1001","client_id":"client-1","blueprint":"web-hosting","provision_fields":{"package_name":"starter"}}'
    curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" http://127.0.0.1:$API_PORT/contract-products/billing-1001/actions/web-hosting/create-account \\
      -d '{"params":{"email":"alice@example.com","domain":"alice-shop.example"}}'
    curl -s -H "Authorization: Bearer \$CLIENT_TOKEN" http://127.0.0.1:$API_PORT/contract-products/billing-1001/actions/web-hosting/login-to-control-panel \\
      -d '{"params":{"user_ip":"198.51.100.7"}}'
    curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" http://127.0.0.1:$API_PORT/contract-products/billing-1001/actions/web-hosting/suspend-account \\
      -d '{"params":{"reason":"invoice overdue"}}'
    curl -s -H "Authorization: Bearer \$CLIENT_TOKEN" http://127.0.0.1:$API_PORT/contract-products/billing-1001/logs
    curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" "http://127.0.0.1:$API_PORT/logs?status=error"

  Drift: every configuration is swept hourly (DRIFT_EVERY seconds); to sweep now, then read a report:
    target/debug/local-stack sweep --name drift --invoke-url http://127.0.0.1:$WATCH_PORT
    curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" http://127.0.0.1:$API_PORT/provision-configurations/<id>/drift

MSG
wait -n "${PIDS[@]}" || true
say "a component stopped; see the logs in .local/"

#!/usr/bin/env bash
# `make bench` (bench.sh measure; bench.sh bulk: a bulk suspend of SERVICES (1000) demo services
# limited to RATE (10) calls a second; bench.sh console: the console's first page in headless
# Chromium; bench.sh build: `make build` from scratch, timed) and `make faults` (bench.sh faults):
# install what is missing,
# start the local stack on free ports, run the bench binary, stop everything. The figures go to
# BENCHMARKS.md. LOG_ROWS (default 1000000) sizes the large logs table; EVENTS (default 10000)
# the fault run. BENCH_QUICK=1 tries the measures on debug binaries, small, and writes nothing.
set -euo pipefail
STACK_ROLE=bench
source "$(dirname "$0")/stack.sh"
cd "$ROOT"
MODE=${1:-measure}
begin_run bench KEEP_BENCH_LOGS

case "$MODE" in
  measure)
    PROFILE=release; OUT=BENCHMARKS.md; EXTRA=()
    if [ "${BENCH_QUICK:-}" = 1 ]; then PROFILE=debug; OUT="$RUN_DIR/BENCHMARKS.md"; EXTRA=(--iterations 30); LOG_ROWS=${LOG_ROWS:-5000}; fi
    say "building the $PROFILE binaries (functions and bench)"
    cargo build --profile "$([ "$PROFILE" = debug ] && echo dev || echo release)" --locked -p admin -p action -p logs -p webhook -p worker -p dispatcher -p bench -p infra
    DDB_PORT=$(free_port) SQS_PORT=$(free_port)
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
    export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$SQS_PORT"
    export AWS_ENDPOINT_URL_SSM="http://127.0.0.1:$SQS_PORT"
    # On disk (a million log rows would crowd the JVM's heap in memory), and kept: loading them
    # takes long, so a later run reuses them (rm -rf .local/bench-dynamodb to load afresh).
    DATA_DIR="$ROOT/.local/bench-dynamodb"
    if [ "${BENCH_QUICK:-}" = 1 ]; then DATA_DIR="$RUN_DIR/dynamodb"; fi
    mkdir -p "$DATA_DIR"
    start_dynamodb "$DDB_PORT" "$RUN_DIR/dynamodb.log" -dbPath "$DATA_DIR"
    start_sqs "$SQS_PORT" "$RUN_DIR/sqs.log"
    "$ROOT/target/$PROFILE/local-stack" setup --stack bench --param RetryBaseSeconds=1 --env-file "$RUN_DIR/functions.env"
    set -a; source "$RUN_DIR/functions.env"; set +a
    BENCH_COMMAND="make bench" "$ROOT/target/$PROFILE/bench" measure --release-dir "$ROOT/target/$PROFILE" --log-rows "${LOG_ROWS:-1000000}" --out "$OUT" "${EXTRA[@]}"
    ;;
  faults)
    say "building the functions and tools"
    cargo build --locked -p infra -p bench
    build_functions
    start_api_stack faults
    set -a; source "$RUN_DIR/functions.env"; set +a
    BENCH_COMMAND="make faults" "$ROOT/target/debug/bench" faults --api "http://127.0.0.1:$API_PORT" --events "${EVENTS:-10000}" --out BENCHMARKS.md
    ;;
  bulk)
    say "building the functions and tools"
    cargo build --locked -p infra -p bench
    build_functions
    start_api_stack bulk
    set -a; source "$RUN_DIR/functions.env"; set +a
    BENCH_COMMAND="make bench" "$ROOT/target/debug/bench" bulk --api "http://127.0.0.1:$API_PORT" --services "${SERVICES:-1000}" --rate "${RATE:-10}" --out BENCHMARKS.md
    ;;
  console)
    say "building the functions and tools"
    cargo build --locked -p infra
    build_functions
    start_api_stack console
    E2E_API_URL="http://127.0.0.1:$API_PORT" BENCH_OUT="$ROOT/BENCHMARKS.md" "$TOOLS_DIR/browser/bin/python" "$ROOT/bench/console.py"
    ;;
  build)
    # From an empty .aws-sam and no arm64 build output: every crate compiled for aarch64 again
    # (host build scripts and proc-macros of earlier release builds may be reused).
    rm -rf "$ROOT/.aws-sam" "$ROOT/target/aarch64-unknown-linux-gnu" "$ROOT/target/lambda"
    started=$(date +%s)
    bash "$ROOT/infra/deploy.sh" build
    python3 "$ROOT/bench/build_report.py" "$(( $(date +%s) - started ))" BENCHMARKS.md
    ;;
  *) say "usage: bench.sh measure|faults|bulk|console|build"; exit 2 ;;
esac

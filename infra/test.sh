#!/usr/bin/env bash
# `make test`: installs what is missing, starts DynamoDB Local (in memory), the SQS emulator and
# cargo lambda watch on free ports, runs every test, stops what it started, and exits non-zero on
# any failure. TEST_FILTER=name runs only the tests whose names contain it (while working).
set -euo pipefail
STACK_ROLE=test
source "$(dirname "$0")/stack.sh"
cd "$ROOT"
begin_run test KEEP_TEST_LOGS

say "building everything (functions, tools, tests)"
cargo build --workspace --all-targets --locked
build_functions

# Every AWS call the functions make is recorded (shared::aws), to be held to template.yaml's IAM.
export AWS_CALL_LOG="$RUN_DIR/aws-calls.jsonl"
start_api_stack e2e
export E2E_API_URL="http://127.0.0.1:$API_PORT" E2E_STACK=e2e E2E_OIDC_URL="$OIDC_ISSUER" E2E_SQS_PROXY_URL="$SQS_PROXY_URL" E2E_WATCH_LOG="$RUN_DIR/watch.log"
# The vendors' own API descriptions as mock servers: the providers' conformance tests.
SPECS="$ROOT/specs"
start_prism hetzner-cloud "$SPECS/hetzner-cloud/cloud.spec.json" PRISM_HETZNER_URL
start_prism openprovider "$SPECS/openprovider/swagger.json" PRISM_OPENPROVIDER_URL
start_prism linode "$SPECS/linode/openapi.yaml" PRISM_LINODE_URL examples-break-spec
export EPP_XSD="$SPECS/epp/all.xsd"

failed=0 failures=()
# A failed check: named in the run's closing lines, where CI's tail shows it.
fail() { failed=1; failures+=("$1"); }
# ... and with the last line its log ends on (what went wrong, for a run whose logs are gone).
fail_log() { fail "$1 ($(basename "$2"): $(tail -n 1 "$2" 2>/dev/null | cut -c1-300))"; }
say "cargo test (unit, integration over the emulators, HTTP through cargo lambda watch)"
cargo test --workspace --locked --no-fail-fast ${TEST_FILTER:+-- "$TEST_FILTER"} 2>&1 | tee "$RUN_DIR/cargo-test.log" || fail "cargo test (see cargo-test.log)"
read -r passed failed_tests < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$RUN_DIR/cargo-test.log")

say "fault run, small: webhook -> queue -> worker with 30% provider faults and duplicate deliveries; nothing lost, nothing made twice"
( set -a; source "$RUN_DIR/functions.env"; set +a; "$ROOT/target/debug/bench" faults --api "$E2E_API_URL" --events "${FAULT_EVENTS:-200}" ) 2>&1 | tee "$RUN_DIR/faults.log" || fail_log "fault run" "$RUN_DIR/faults.log"

say "a bulk suspend of 100 demo services limited to 3 calls a second (less than the worker does here): never over the limit at the provider, each logged once; then a drift sweep finds exactly the 5 changed behind the engine's back"
( set -a; source "$RUN_DIR/functions.env"; set +a; "$ROOT/target/debug/bench" bulk --api "$E2E_API_URL" --services "${BULK_SERVICES:-100}" --rate 3 ) 2>&1 | tee "$RUN_DIR/bulk.log" || fail_log "bulk check" "$RUN_DIR/bulk.log"

say "the contract: a client generated from openapi.yaml drives a service's life; schemathesis finds nothing"
( "$ROOT/infra/contract.sh" "$E2E_API_URL" ) 2>&1 | tee "$RUN_DIR/contract.log" || fail_log "contract and schemathesis" "$RUN_DIR/contract.log"

say "the console in headless Chromium: admin and client journeys, the 73 action forms, settings forms, axe, keyboard, 375 px"
console_passed=0 console_failed=0
if [ -z "${TEST_FILTER:-}" ] || [[ console == *"$TEST_FILTER"* ]]; then
  CONSOLE_ARTIFACTS="$ROOT/target/console-artifacts" "$TOOLS_DIR/browser/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/tests/console" 2>&1 | tee "$RUN_DIR/console.log" || fail_log "console" "$RUN_DIR/console.log"
  # pytest's last line: "N passed, M failed, K errors in ...".
  console_passed=$(tail -n 1 "$RUN_DIR/console.log" | { grep -oE '[0-9]+ passed' || true; } | awk '{ s += $1 } END { print s + 0 }')
  console_failed=$(tail -n 1 "$RUN_DIR/console.log" | { grep -oE '[0-9]+ (failed|errors?)' || true; } | awk '{ s += $1 } END { print s + 0 }')
  [ "$console_passed" -gt 0 ] || { say "no console test ran"; fail "no console test ran"; }
  say "screenshots of the console: target/console-artifacts/"
fi
passed=$(( passed + console_passed )) failed_tests=$(( failed_tests + console_failed ))

say "no secret in any response, tracing line or stored record of the run"
# The configured secrets, and those the tests give providers and actions (tests/api/*.rs; a
# line of the Google service account's test key, shared/tests/fixtures/rsa-test-key.pem).
SECRETS_TO_FIND="$AUTH_HS256_SECRET $SECRETS_KEY $OIDC_PASSWORD_ADMIN $OIDC_PASSWORD_ALICE $OIDC_PASSWORD_BOB demo-key-Sup3rSecret tok-ABC-123 new-token Example-passw0rd! endpoint-signing-Sup3rSecret Pw-for-acme-1! WHM-token-Sup3rSecret Shop-pw-Secret1! Hz-token-Sup3rSecret Op-pw-Sup3rSecret op-bearer-Tok3n Epp-pw-Sup3rS Isp-pw-Sup3rSecret Wh-Sealed-Secret1! Pf-Sealed-Secret1! New-echo-pw-1! Op-token-Sup3rSecret Ln-token-Sup3rSecret Chosen-Root-pw-1! ya29.Access-Sup3rSecret SjBd6ZZE67m1JXdQyDRsz8iFOmGcEIEdQLNnN0aG9rVXD3qa535TZ7pyPiYmdQ40 Mg-key-Sup3rSecret Duda-pw-Sup3rSecret Plesk-key-Sup3rSecret New-pw-Secret2! Rtr-key-Sup3rSecret Pve-secret-Sup3rSecret Root-pw-Secret9 New-root-pw-2 Filter-pw-9"
for secret in $SECRETS_TO_FIND; do
  for f in "$RUN_DIR/watch.log" "$RUN_DIR/responses.log"; do
    if [ -f "$f" ] && grep -qF -- "$secret" "$f"; then say "secret found in $(basename "$f"): ${secret:0:4}..."; fail "secret in $(basename "$f")"; fi
  done
done
"$TOOLS_DIR/venv/bin/python" - "$SECRETS_TO_FIND" <<'PY' || fail "secret stored in DynamoDB"
import json, sys, boto3
secrets = sys.argv[1].split()
ddb = boto3.client("dynamodb")
found = 0
for table in ("e2e-main", "e2e-logs"):
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            text = json.dumps(item)
            for s in secrets:
                if s in text:
                    found += 1
                    print(f"secret {s[:4]}... stored in plain text in {table}: {item.get('pk')}", file=sys.stderr)
print(f"[test] scanned e2e-main and e2e-logs: {found} secrets found", file=sys.stderr)
sys.exit(1 if found else 0)
PY
[ -s "$RUN_DIR/responses.log" ] || { say "no response was recorded: the secret scan saw nothing"; fail "secret scan saw nothing"; }

say "every AWS call a function made is allowed by its policy in template.yaml"
local_stack iam-check --stack e2e --calls "$AWS_CALL_LOG" || fail "IAM check"

say "make deploy's preflight stops a stage whose SSM parameters are missing, naming each (against moto's SSM)"
if preflight=$("$TOOLS_DIR/venv/bin/python" infra/preflight.py samconfig.toml staging 2>&1); then
  say "the preflight passed a stage with no parameters in SSM"; fail "preflight"
elif [ "$(grep -c '^\[preflight\] missing /provisioning-staging/' <<<"$preflight")" != 3 ]; then
  say "the preflight did not name the three missing parameters:"; echo "$preflight"; fail "preflight"
fi

say "cfn-lint template.yaml (with its alarms and dashboard)"
"$TOOLS_DIR/lint/bin/cfn-lint" template.yaml || fail "cfn-lint"

say "template.yaml within CloudFormation's limits with margin (aws-sam-translator: at most 400 of 500 resources)"
"$TOOLS_DIR/lint/bin/python" infra/template_limits.py template.yaml || fail "template limits"

say "openapi.yaml is a valid OpenAPI 3.1 document"
"$TOOLS_DIR/lint/bin/openapi-spec-validator" openapi.yaml || fail "openapi.yaml validation"

say "generated files match the generator"
local_stack generate --check || fail "generated files differ"

[ "$failed_tests" = 0 ] || fail "$failed_tests tests: $(grep -hE '^test .* FAILED$' "$RUN_DIR/cargo-test.log" 2>/dev/null | sed -E 's/^test //; s/ \.\.\. FAILED$//' | sort -u | tr '\n' ' ')$(grep -hE '^FAILED ' "$RUN_DIR/console.log" 2>/dev/null | tr '\n' ' ')"
[ "$passed" -gt 0 ] || { say "no test ran"; fail "no test ran"; }
if [ "$failed" != 0 ]; then say "FAILED (logs: $RUN_DIR)"; printf '[test] failed: %s\n' "${failures[@]}"; fi
# The closing line CI reads: cargo's and the console's tests, plus the checks above.
checks_failed=$(( failed != 0 && failed_tests == 0 ? 1 : 0 ))
echo "$passed passed, $(( failed_tests + checks_failed )) failed"
exit "$failed"

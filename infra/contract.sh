#!/usr/bin/env bash
# The contract's checks (make test), against a running local stack at $1: openapi.yaml read by
# tools nobody here wrote, as integrators read it.
#  1. openapi-python-client generates a client; tests/contract/client_life.py drives a service's
#     life through it, every answer parsed into the document's models.
#  2. schemathesis (pinned, fixed seed) fuzzes every route but those that make the engine call
#     out to an address from the request, checking for server errors (a third party's 502 / 504
#     aside: tests/contract/schemathesis.toml), undocumented statuses, content types and response
#     schemas: zero failures.
# CONTRACT_EXAMPLES (default 10) sets schemathesis's examples per operation.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS_DIR=${TOOLS_DIR:-"$ROOT/.tools"}
API=$1
OUT=${RUN_DIR:-$(mktemp -d)}/contract
rm -rf "$OUT" && mkdir -p "$OUT"
cd "$OUT"
token() { "$ROOT/target/debug/local-stack" token --ttl 7200 "$@"; }
ADMIN=$(token --role admin --sub contract-admin)
OWNER=$(token --role client --client-id contract-client-1 --sub contract-client)

printf 'post_hooks: []\n' > generator.yaml
"$TOOLS_DIR/contract/bin/openapi-python-client" generate --path "$ROOT/openapi.yaml" --meta none --output-path "$OUT/client" --config generator.yaml > generate.log 2>&1 \
  || { cat generate.log; echo "[contract] openapi-python-client could not generate a client"; exit 1; }
if grep -q "^Warning\|Unable to" generate.log; then cat generate.log; echo "[contract] the generator skipped part of openapi.yaml"; exit 1; fi
"$TOOLS_DIR/contract/bin/python" "$ROOT/tests/contract/client_life.py" "$OUT" "$API" "$ADMIN" "$OWNER"

# Not fuzzed: the routes whose requests name an address the engine then calls (configuration
# settings, the connection check, handler targets): a fuzzer must not steer traffic to any host.
"$TOOLS_DIR/contract/bin/schemathesis" --config-file "$ROOT/tests/contract/schemathesis.toml" --no-color run "$ROOT/openapi.yaml" --url "$API" \
  -H "Authorization: Bearer $ADMIN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-operation-id createConfiguration --exclude-operation-id updateConfiguration --exclude-operation-id testConnection \
  --exclude-operation-id createEventHandler --exclude-operation-id updateEventHandler \
  --seed 20261130 --max-examples "${CONTRACT_EXAMPLES:-10}" --workers 2 \
  --report junit --report-dir "$OUT/report" > schemathesis.log 2>&1 && st=0 || st=$?
if [ "$st" != 0 ]; then
  grep -v '^  - ' schemathesis.log | tail -150
  echo "[contract] schemathesis found failures (full log: $OUT/schemathesis.log)"; exit 1
fi
echo "[contract] schemathesis: $(grep -E 'generated' schemathesis.log | tail -1 | sed 's/^ *//')"

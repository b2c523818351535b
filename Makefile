# The two commands of the README are `make run` and `make test`.
GO        ?= go
FUZZTIME  ?= 100000x
BENCHTIME ?= 2s
LAMBDA_GOARCH ?= arm64
LAMBDA_FLAGS  = -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='

.PHONY: run test unit fuzz build lint bench aws-setup clean

## run: serve the whole API on ADDR (default 127.0.0.1:8080) with the seed in SEED_FILE
run:
	@$(GO) build -o bin/devserver ./infra/devserver
	@exec bin/devserver

## test: every test with the race detector (starts moto_server, local-kms, the Lambda emulator and Chromium itself), then short fuzz runs
test: unit fuzz

unit:
	$(GO) test -race -count=1 -timeout 30m ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseForm$$' -fuzztime $(FUZZTIME) ./shared/protocol/httpx
	$(GO) test -run '^$$' -fuzz '^FuzzParseScope$$' -fuzztime $(FUZZTIME) ./shared/protocol/httpx
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRefreshToken$$' -fuzztime $(FUZZTIME) ./shared/protocol/token
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./shared/crypto/jws
	$(GO) test -run '^$$' -fuzz '^FuzzDERToRaw$$' -fuzztime $(FUZZTIME) ./shared/crypto/jws
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./shared/crypto/password
	$(GO) test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./shared/crypto/dpop
	$(GO) test -run '^$$' -fuzz '^FuzzRedirectURIMatch$$' -fuzztime $(FUZZTIME) ./shared/protocol/authorize
	$(GO) test -run '^$$' -fuzz '^FuzzCheckJSON$$' -fuzztime $(FUZZTIME) ./shared/protocol/policyadmin

## build: compile everything, and the Lambda bootstraps (three functions and the example API authorizer) into bin/
build:
	$(GO) build ./...
	for f in authorize token policy-admin api-authorizer; do \
		GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o bin/$$f/bootstrap ./functions/$$f || exit 1; \
	done

## lint: go vet, gofmt, the import-direction check and cfn-lint
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run ./infra/importcheck
	@if [ -f template.yaml ]; then cfn-lint template.yaml; fi

## bench: refresh exchange through the HTTP handler (RS256, ES256) and raw signing rates
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./shared/protocol/token ./shared/crypto/jws

## aws-setup: create the DynamoDB table and KMS keys on the endpoints the environment names; prints the exports for STORE=aws make run
aws-setup:
	@$(GO) run ./infra/awssetup

clean:
	rm -rf bin .aws-sam

# ---- performance: load driver, cold start, AWS requests per grant ----
# LOAD_FLAGS, e.g. make load LOAD_FLAGS='-alg ES256 -audience-switch -duration 10s'
LOAD_FLAGS      ?=
COLDSTART_FLAGS ?=
# LATENCY_FLAGS, e.g. make cost LATENCY_FLAGS='-delay 5ms -n 500'
LATENCY_FLAGS   ?=

.PHONY: coldstart bench-aws latency cost

## load: refresh exchanges against a dev server it starts (8 chains, 10 s, RS256): one JSON line and one human line
load:
	$(GO) run ./infra/load -baseline $(LOAD_FLAGS)

## coldstart: init time, first-invoke latency and size of each bootstrap under the Lambda Runtime Interface Emulator
coldstart:
	$(GO) run ./infra/coldstart $(COLDSTART_FLAGS)

## latency: p50/p99 per grant and signing mode, the token function under the Lambda emulator with a delay on every AWS request (JSON lines, then the tables)
latency:
	$(GO) run ./infra/latency $(LATENCY_FLAGS)

## cost: the same measurement as Markdown: latency, USD per million requests (128/512/1024 MB) and the per-account ceiling under default quotas
cost:
	@$(GO) run ./infra/latency -markdown $(LATENCY_FLAGS)

## bench-aws: AWS requests per grant, counted by SDK middleware against moto and local-kms (part of make bench)
bench-aws:
	$(GO) test -count=1 -run '^TestTokenEndpointOnAWS$$/^request_counts$$' -v ./shared/runtime/awsdeps

bench: bench-aws
# ---- end performance ----

# --- SAM (sam build, BuildMethod: makefile): one target per function logical id ---
# sam build runs `make build-<LogicalId> ARTIFACTS_DIR=...`; each writes the
# function's bootstrap for provided.al2023 on $(LAMBDA_GOARCH) (arm64).
.PHONY: build-AuthorizeFunction build-TokenFunction build-PolicyAdminFunction build-ApiAuthorizerFunction

build-AuthorizeFunction:
	GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/authorize

build-TokenFunction:
	GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/token

build-PolicyAdminFunction:
	GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/policy-admin

build-ApiAuthorizerFunction:
	GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api-authorizer
# --- end SAM ---

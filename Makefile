# vlensq: common tasks. CI (.ci/run) runs the same test command as `make test`.
.DEFAULT_GOAL := help
GO ?= go

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

demo: ## run the embedded demo (no setup)
	$(GO) run ./cmd/vlensq demo

test: ## the test suite, with the race detector (needs Redis at 127.0.0.1:6379)
	$(GO) test -race -count=1 ./...

test-short: ## the suite without the race detector
	$(GO) test -count=1 ./...

lint: ## gofmt and go vet, as CI checks them
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

fuzz: ## each fuzz target for 60 s
	$(GO) test -run '^$$' -fuzz FuzzDecodeClassify -fuzztime 60s ./vlens/
	$(GO) test -run '^$$' -fuzz FuzzRedact -fuzztime 60s ./vlens/

bench: ## vlensq against bare asynq, on scratch Redis db 15 (see docs/performance.md)
	$(GO) run ./cmd/vlensq bench --redis redis://127.0.0.1:6379/15

ci: ## CI exactly as it runs: installs and starts what the tests need
	CI=true bash .ci/run

.PHONY: help demo test test-short lint fuzz bench ci

# DR Portal. `make run` starts the portal on the embedded defaults (a local
# PostgreSQL and the built-in DWS simulator); `make test` runs every check.
GO ?= go
PKGS := ./...

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## run the portal on http://localhost:8080 (local PostgreSQL and the DWS simulator unless configured)
	$(GO) run ./cmd/web

.PHONY: sim
sim: ## run the standalone DWS simulator on 127.0.0.1:8089
	$(GO) run ./cmd/dwssim

.PHONY: fixture
fixture: ## run the fixture server (the API pages' examples, not the simulator) on 127.0.0.1:8090
	$(GO) run ./cmd/dwsfixture

.PHONY: generate
generate: ## regenerate the templ views
	$(GO) tool templ generate

.PHONY: check-generated
check-generated: ## fail when the generated views differ from their templ sources (then regenerate them)
	@sums() { find internal -name '*_templ.go' | sort | xargs -r sha256sum; }; \
	before="$$(sums)"; \
	$(GO) tool templ generate >/dev/null 2>&1 || { $(GO) tool templ generate; exit 1; }; \
	if [ "$$before" != "$$(sums)" ]; then \
		echo "generated views were out of date; they are regenerated now: review and commit them"; exit 1; \
	fi

.PHONY: fmt
fmt: ## format Go and templ sources
	gofmt -w cmd internal migrations static
	$(GO) tool templ fmt internal/views

.PHONY: vet
vet: ## go vet
	$(GO) vet $(PKGS)

.PHONY: lint
lint: vet ## vet, check formatting, staticcheck, no container tooling in the portal binary
	@out="$$(gofmt -l cmd internal migrations static)"; if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
	$(GO) tool staticcheck $(PKGS)
	@deps="$$($(GO) list -deps ./cmd/web)" || exit 1; bad="$$(echo "$$deps" | grep -E 'testcontainers|docker|containerd|moby')"; \
	if [ -n "$$bad" ]; then echo "cmd/web links container tooling (only the test helper internal/testdb may use it):"; echo "$$bad"; exit 1; fi

.PHONY: test
test: check-generated lint node_modules/axe-core/axe.min.js ## generated code current, vet, formatting, then all tests with the race detector
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# axe-core, which the browser tests inject into every page they check, from
# package-lock.json.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The README's screenshots: the main pages at 1280 px, and two at 390 px.
SCREENSHOTS := signin create-form request-pending task-detail audit phone-tasks phone-request-pending

.PHONY: screenshots
screenshots: node_modules/axe-core/axe.min.js ## write the README's screenshots (docs/screenshots) from the browser tests
	rm -rf .screenshots docs/screenshots && mkdir -p .screenshots docs/screenshots
	SCREENSHOT_DIR=$(CURDIR)/.screenshots $(GO) test -count=1 \
		-run '^(TestBrowserRequestApproveAndWatch|TestNoPageScrollsSidewaysOnAPhone)$$' ./cmd/web ./internal/handlers
	for s in $(SCREENSHOTS); do cp .screenshots/$$s.png docs/screenshots/; done
	rm -rf .screenshots

.PHONY: build
build: ## build bin/web and bin/dwssim
	$(GO) build -trimpath -o bin/web ./cmd/web
	$(GO) build -trimpath -o bin/dwssim ./cmd/dwssim

.PHONY: docker
docker: ## build the container image (needs a Docker engine)
	docker build -t dr-portal .

.PHONY: bench
bench: ## measure the budgets of design.md §10 at a million audit events and print a table (about 3 minutes)
	$(GO) run ./cmd/bench

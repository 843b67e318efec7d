# Every target works from a clean checkout. `make run` and `make test` find Postgres and Redis at
# DATABASE_URL and REDIS_URL, or start throwaway ones under .local/ (see deploy/local/).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# The Go toolchain every target builds with: go1.26.10 (the go.mod files' toolchain line) has the
# standard library's security fixes after 1.26.8 (net/http, crypto/tls, crypto/x509,
# html/template, os). The go command fetches it through the module proxy on first use (about
# 75 MB, kept in the module cache). Where it cannot be fetched (offline, not in the module
# cache) the installed Go builds, with a warning. A GOTOOLCHAIN in the environment wins.
GO_TOOLCHAIN := go1.26.10
ifeq ($(origin GOTOOLCHAIN),undefined)
GOTOOLCHAIN := $(shell GOTOOLCHAIN=$(GO_TOOLCHAIN) go version >/dev/null 2>&1 && echo $(GO_TOOLCHAIN))
ifeq ($(GOTOOLCHAIN),)
GOTOOLCHAIN := local
$(warning $(GO_TOOLCHAIN) cannot be fetched: building with the installed Go, which lacks its security fixes)
endif
endif
export GOTOOLCHAIN

# The modules of go.work, and the package patterns that cover them all.
MODULES  := $(shell go work edit -json | sed -n 's/.*"DiskPath": "\.\/\(.*\)".*/\1/p')
PACKAGES := $(addprefix ./,$(addsuffix /...,$(MODULES)))
BIN      := .local/bin
SERVICES := deploy/local/with-services.sh
# MailDev, the local mail catcher, with its web UI: its npm packages are pinned (versions and
# integrity) in deploy/local/maildev/package-lock.json and installed under .local/ with npm.
MAILDEV  := $(BIN)/maildev
MAILDEV_DIR := deploy/local/maildev
# golangci-lint, at the version its own module pins (tools/golangci-lint, outside go.work, as sql/
# keeps sqlc), built into .local/bin once and again when that module's go.mod or go.sum changes.
GOLANGCI_LINT := $(BIN)/golangci-lint
GOLANGCI_LINT_DIR := tools/golangci-lint

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: build
build: ## build the api and emailworker binaries into .local/bin
	@mkdir -p $(BIN)
	go build -tags nomsgpack -o $(BIN)/api ./cmd/api
	go build -o $(BIN)/emailworker ./cmd/emailworker

$(MAILDEV): $(MAILDEV_DIR)/package.json $(MAILDEV_DIR)/package-lock.json $(MAILDEV_DIR)/install.sh
	@$(MAILDEV_DIR)/install.sh

.PHONY: maildev
maildev: $(MAILDEV) ## install the local mail catcher (MailDev, with its web UI) into .local (needs Node.js 20+)

.PHONY: run
run: build $(MAILDEV) ## run the whole system locally with MailDev catching its email (Ctrl-C stops everything)
	@$(SERVICES) -- deploy/local/run.sh $(BIN)

.PHONY: migrate
migrate: build ## create the database if needed and apply migrations
	@$(SERVICES) -- $(BIN)/api migrate

.PHONY: seed
seed: build ## load the demo data set (idempotent)
	@$(SERVICES) -- bash -c '$(BIN)/api migrate && $(BIN)/api seed'

.PHONY: test
test: $(MAILDEV) ## run every module's tests with -race against real Postgres and Redis
	@$(SERVICES) -- go test -race -count=1 -timeout 15m $(PACKAGES)

.PHONY: bench
bench: build ## measure the hot-cache API and the email pipeline against their ceilings
	@$(SERVICES) -- go run ./bench/loadgen -bin $(BIN)/api
	@$(SERVICES) -- go run ./bench/drain -worker $(BIN)/emailworker -api $(BIN)/api

.PHONY: faults
faults: build ## break SMTP, the queue's Redis and the worker in turn; count emails lost, duplicated, failed
	@$(SERVICES) -- go run ./bench/faults -worker $(BIN)/emailworker -api $(BIN)/api

# Both need a Docker engine: without one, deploy/smoke/smoke.sh starts a private one (as root,
# state under .local/docker) and stops it again. Not part of CI: see "Images and the smoke run".
.PHONY: images
images: ## build the api and emailworker images (oes-api:local, oes-emailworker:local)
	@deploy/smoke/smoke.sh images

.PHONY: smoke
smoke: ## build the images, run deploy/compose.yaml, register a user and read its email, stop, tear down
	@deploy/smoke/smoke.sh run

$(GOLANGCI_LINT): $(GOLANGCI_LINT_DIR)/go.mod $(GOLANGCI_LINT_DIR)/go.sum
	@mkdir -p $(BIN)
	GOWORK=off go build -C $(GOLANGCI_LINT_DIR) -o $(abspath $@) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

.PHONY: lint
lint: $(GOLANGCI_LINT) ## gofmt, go vet and golangci-lint (.golangci.yml)
	@out=$$(gofmt -l $(MODULES) sql); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet $(PACKAGES)
	$(GOLANGCI_LINT) run --config .golangci.yml $(PACKAGES)

.PHONY: tidy
tidy: ## go mod tidy in every module
	@for m in $(MODULES); do (cd $$m && go mod tidy); done
	@cd sql && GOWORK=off go mod tidy
	@cd $(GOLANGCI_LINT_DIR) && GOWORK=off go mod tidy

.PHONY: generate
generate: ## regenerate the sqlc code in db/dbsqlc from sql/ and db/migrations
	cd sql && GOWORK=off go tool sqlc generate

.PHONY: verify
verify: lint ## fail on drift: formatting, vet, golangci-lint, untidy go.mod, stale sqlc code, forbidden links and imports, OpenAPI lint
	@for m in $(MODULES); do (cd $$m && go mod tidy -diff) || { echo "go.mod of $$m is not tidy: run make tidy"; exit 1; }; done
	@(cd sql && GOWORK=off go mod tidy -diff) || { echo "go.mod of sql is not tidy: run make tidy"; exit 1; }
	@(cd $(GOLANGCI_LINT_DIR) && GOWORK=off go mod tidy -diff) || { echo "go.mod of $(GOLANGCI_LINT_DIR) is not tidy: run make tidy"; exit 1; }
	@cd sql && GOWORK=off go tool sqlc diff || { echo "db/dbsqlc differs from what sql/ generates: run make generate"; exit 1; }
	@! go list -deps ./cmd/api | grep -E '^(gopkg.in/gomail|github.com/wneessen/go-mail)' || { echo "the api links a mail library"; exit 1; }
	@! go list -deps ./cmd/emailworker | grep -E '^github.com/gin-gonic/' || { echo "the emailworker links gin"; exit 1; }
	@! go list -test -f '{{.ImportPath}}: {{join .Imports " "}}' $(PACKAGES) | grep -v '^github.com/oeshq/oes/pkg/infra/store[ :]' | grep -E ' github.com/oeshq/oes/db/dbsqlc( |$$)' || { echo "only pkg/infra/store may import db/dbsqlc, the generated queries"; exit 1; }
	@bash tools/openapi-lint/lint.sh || { echo "openapi.yaml fails the OpenAPI linter (tools/openapi-lint)"; exit 1; }
	@echo "verify: ok"

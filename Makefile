# One command each: `make dev` runs the service locally, `make test` runs every test.
# Both install what they need on first use: the Python venv, the npm packages of the emulators and
# of the web SDK, the SDK's bundle (sdk/dist), curl, jq and Java; `make test` adds Chromium (apt).
# Google's Firestore emulator (a Google Cloud CLI component) must be on the machine already.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_DIR := devstack/emulators
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
SDK_DIR := sdk
SDK_STAMP := $(SDK_DIR)/node_modules/.installed
SDK_SOURCES := $(wildcard $(SDK_DIR)/src/*.ts $(SDK_DIR)/src/generated/*.ts) $(SDK_DIR)/package.json
SDK_BUNDLE := $(SDK_DIR)/dist/billing-client.js

.PHONY: install sdk tools chromium java firestore-emulator dev test lint format firebase-json clean bench deploy deploy-check smoke audit fuzz metrics user-token admin-token service-token

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	# --ignore-scripts: nothing we use needs a native build (re2 would compile for minutes).
	cd $(NODE_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(SDK_STAMP): $(SDK_DIR)/package.json $(SDK_DIR)/package-lock.json
	# --ignore-scripts: esbuild's binary comes as its platform package; nothing else builds.
	cd $(SDK_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# dist/ is build output, not in git (src/generated/ and the lock file are): `make dev`, `make test`
# and the deploy plan build it; the portal loads dist/billing-client.js through portal/sdk/.
$(SDK_BUNDLE): $(SDK_STAMP) $(SDK_SOURCES)
	cd $(SDK_DIR) && npm run --silent build

sdk: $(SDK_BUNDLE)  ## the web SDK's node packages and its bundles (sdk/dist)

tools:  ## curl and jq, which the walkthroughs (docs/walkthroughs.md) and their test use
	@command -v jq >/dev/null && command -v curl >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq jq curl >/dev/null; } \
		|| echo "could not install jq and curl: install them to run the walkthroughs (docs/walkthroughs.md)" >&2

chromium:  ## Debian's Chromium, which only the billing portal's browser tests drive (never a download)
	@command -v chromium >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "could not install chromium: the billing portal's browser tests will be skipped (under CI=true: fail)" >&2

java:  ## a Java runtime for Google's Firestore emulator (Debian's, when none is installed)
	@command -v java >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; } \
		|| echo "could not install Java (openjdk-17-jre-headless)" >&2

# Google's Cloud Firestore emulator is the Google Cloud CLI's component, which no registry this
# Makefile reaches serves: without it, say in one line what to install, and stop.
firestore-emulator: $(PY_STAMP) java  ## check that Google's Firestore emulator and Java are here
	@$(BIN)/python -m devstack.firestore_emulator >/dev/null

install: $(PY_STAMP) $(NODE_STAMP) $(SDK_STAMP) tools firestore-emulator

dev: install sdk  ## run the whole service locally on the default ports
	$(BIN)/python -m devstack.stack

# sdk: the portal's browser tests and the SDK's own tests load the bundle; chromium: only the
# browser tests need it, so `make dev` never installs it.
test: install sdk chromium lint  ## lint, then every test against a stack the tests start and stop
	$(BIN)/pytest

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(PY_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

firebase-json: $(PY_STAMP)  ## regenerate firebase.json from the function registry
	$(BIN)/python -m devstack.firebase_json

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules $(SDK_DIR)/node_modules $(SDK_DIR)/dist .stack .deploy .pytest_cache .mypy_cache .ruff_cache

bench: install  ## print cold start, RPC, latency, contention and memory figures (about 8 minutes)
	PYTHONPATH=client $(BIN)/python -m bench

deploy: $(PY_STAMP)  ## print the firebase deploy plan of deploy/$(ENV).toml (EXECUTE=1 runs it)
	$(BIN)/python -m ops.deploy --env $(or $(ENV),example) $(if $(EXECUTE),--execute,)

deploy-check: $(PY_STAMP)  ## validate deploy/$(ENV).toml, print the one-time setup, test the plan
	$(BIN)/python -m ops.deploy --env $(or $(ENV),example) --check
	$(BIN)/pytest -q tests/unit/test_deploy_plan.py tests/unit/test_deploy_config.py tests/unit/test_function_manifest.py

smoke: $(PY_STAMP)  ## pass/fail per step against deploy/$(ENV).toml's environment (no ENV: make dev)
	$(BIN)/python -m ops.smoke $(if $(ENV),--env $(ENV),)

user-token admin-token: $(PY_STAMP)  ## ID token of a new (or EMAIL=...) user of the running make dev stack
	@$(BIN)/python -m devstack.tokens $(subst -token,,$@) $(if $(EMAIL),--email $(EMAIL),)

service-token: $(PY_STAMP)  ## OIDC token of the local metering (or ROLE=scheduler) service account
	@$(BIN)/python -m devstack.tokens service --role $(or $(ROLE),metering)

audit: $(PY_STAMP)  ## check the ledger invariants of every account (local emulator by default)
	@FIRESTORE_EMULATOR_HOST=$${FIRESTORE_EMULATOR_HOST:-127.0.0.1:8080} $(BIN)/python -m ops.audit

metrics: $(PY_STAMP)  ## the production metrics table from the local stack's logs (LOGS=.stack)
	$(BIN)/python -m ops.metrics --logs $(or $(LOGS),.stack)

fuzz: install  ## schemathesis over every endpoint, then a ledger audit (MAX_EXAMPLES=..., SEED=...)
	$(BIN)/python -m devstack.fuzz --max-examples $(or $(MAX_EXAMPLES),50) $(if $(SEED),--seed $(SEED),)

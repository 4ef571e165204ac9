# Every target sets up what it needs: .venv, torch 2.13.0 (CPU build), the package and its extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench serve lint lab clean movements

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
		-o out/demo.png --preset balanced --size 512 --save-every 25 --overwrite
	@echo "demo picture: out/demo.png (loss curves: out/demo.losses.png)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/fast.py    # add --hybrid for what --init fast saves (a few minutes)

serve: $(STAMP)
	$(BIN)/painterly serve --data-dir out/studio

# The research reports' experiments, small; a second `make lab` skips finished sweep runs and reconstructions.
LAB_SIZE ?= 96
LAB_STEPS ?= 40
LAB_FLAGS = --size $(LAB_SIZE) --iterations $(LAB_STEPS) -q
# rebuilding a picture from noise needs more steps than repainting a photo
LAB_RECON_STEPS ?= 150
# One torch thread: on a 2-core machine shared with other jobs, two threads each spin-wait for
# the other and a step took 15x longer (0.12 s vs 1.9 s at 96 px, measured at load 4-5).
LAB_THREADS ?= 1
lab: export OMP_NUM_THREADS = $(LAB_THREADS)
lab: $(STAMP)
	mkdir -p out/lab docs/lab
	for spec in per_layer_style_weights activation_swap content_layer; do \
		$(BIN)/painterly sweep --spec examples/sweeps/$$spec.toml -o out/lab/$$spec $(LAB_FLAGS) || exit $$?; \
		cp out/lab/$$spec/sheet.png docs/lab/$$spec.png; \
		cp out/lab/$$spec/losses.png docs/lab/$$spec.losses.png; \
	done
	$(BIN)/painterly reconstruct examples/content/chelsea.jpg -o out/lab/reconstruct \
		--size $(LAB_SIZE) --iterations $(LAB_RECON_STEPS) -q
	cp out/lab/reconstruct/figure.png docs/lab/reconstruct.png
	$(BIN)/painterly run examples/content/chelsea.jpg examples/styles/starry_night.jpg -o out/lab/run.png \
		--size $(LAB_SIZE) --iterations $(LAB_STEPS) --save-every 4 --overwrite -q
	$(BIN)/painterly progression out/lab/run.png -o docs/lab/progression.gif --overwrite
	$(BIN)/painterly histogram out/lab/run.json -o docs/lab/histogram.png --overwrite
	@echo "lab figures: docs/lab/ (index: docs/lab/README.md)"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) out .pytest_cache

# Issue #10: the astronaut in every movement of the style library, as one labelled sheet
# (docs/library/movements.png). A second `make movements` skips the finished runs.
MOVEMENTS_SIZE ?= 96
MOVEMENTS_STEPS ?= 40
movements: export OMP_NUM_THREADS = $(LAB_THREADS)
movements: $(STAMP)
	mkdir -p out docs/library
	$(BIN)/painterly sweep --spec examples/sweeps/movements.toml -o out/movements \
		--size $(MOVEMENTS_SIZE) --iterations $(MOVEMENTS_STEPS) -q
	cp out/movements/sheet.png docs/library/movements.png
	@echo "movements sheet: docs/library/movements.png (runs and manifests: out/movements/runs/)"

# issue #11: video. Per-frame vs temporal painting of a synthetic pan+zoom clip (warping error,
# style strength, fps) and the README strip; add OPTIMISE=1 for the optimising path (minutes).
video-bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python bench/video.py --strip docs/video_strip.jpg
	$(if $(OPTIMISE),OMP_NUM_THREADS=1 $(BIN)/python bench/video.py --optimise --size 96 --frames 6 --iterations 40 --later 10,20 --weights 0.7 --threads 1)

# Portrait mode (issue #9): plain vs --portrait on four portraits, and the detector's speed at 1024 px.
bench-portrait: export OMP_NUM_THREADS = 1
bench-portrait: $(STAMP)
	$(BIN)/python bench/portrait.py --figure docs/portrait.jpg

# Speed figures (issue #16): start-up of whole processes, threads under contention, fast mode's stroke scale.
.PHONY: bench-speed
bench-speed: $(STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/threads.py
	$(BIN)/python bench/fast.py --no-speed

# issue #12: batch timings (local, --workers 2, Ray) and resume after a kill
bench-batch: $(STAMP)
	$(BIN)/python bench/batch.py --size 64 --steps 20 --rounds 2

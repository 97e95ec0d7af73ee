# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test venv bench clean

$(STAMP): setup.py
	@echo "First run: creating $(VENV) and installing cloudsubmit with its dependencies (a minute or two; later runs skip this)."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m cloudsubmit demo --work-dir work/demo

test: $(STAMP)
	$(PY) -m mypy --config-file mypy.ini
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests

# Moderate sizes so `make bench` stays quick on a shared machine; each script's --help gives the
# full-scale arguments, and the same variables can be set on the command line.
BENCH_ENV ?= BENCH_MA_MB=60 BENCH_MA_FILE_NODES=30000 BENCH_MB_MB=60 BENCH_MB_FILE_NODES=30000 \
	BENCH_S3_SMALL=300 BENCH_S3_BIG=6 BENCH_S3_BIG_MB=50 BENCH_HASH_MB=512 BENCH_RESOLVE_FILES=20000 \
	BENCH_SHOT_FILES=500 BENCH_SHOT_BLOBS=3000 BENCH_SHOT_ENTRIES=100000 \
	BENCH_PACKS_FILES=3000 BENCH_UPMEM_SIZES=64,192 BENCH_UPMEM_COUNT=2

bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; env $(BENCH_ENV) $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) work build *.egg-info

# Two commands matter: `make run` and `make test`. Both create the virtual environment on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch. On a machine with an NVIDIA GPU, install the CUDA build into $(VENV) first
# (see README); the range in pyproject.toml then accepts it.
TORCH ?= torch==2.13.0

.PHONY: install run test bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: install
	$(VENV)/bin/studio $(ARGS)

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) -m tests.bench $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info

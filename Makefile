# Two commands matter: `make run` and `make test`. Both create the virtual environment on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch, asked for explicitly: PyPI's plain `torch` is the multi-GB CUDA build on Linux. A local
# wheel folder or index that has the +cpu build (pip's own configuration) is used first; otherwise PyTorch's CPU
# index. On a machine with an NVIDIA GPU, `make install TORCH=torch==2.13.0 TORCH_INDEX=https://download.pytorch.org/whl/cu128`.
TORCH ?= torch==2.13.0+cpu
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: install run test test-upscalers bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH)" --index-url "$(TORCH_INDEX)"
	$(PY) -m pip install --quiet -e '.[engine,test]'
	touch $@

run: install
	$(VENV)/bin/studio $(ARGS)

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

# Upscaler models (the `upscalers` extra: spandrel) need a torchvision built for the installed torch, which the CPU
# torch above has none of: they are tested in their own environment with a matching pair. Elsewhere, e.g.
# `make test-upscalers UPSCALERS_TORCH="torch==2.14.1+cpu torchvision==0.29.1+cpu" PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"`.
UPSCALERS_VENV ?= .venv-upscalers
UPSCALERS_TORCH ?= torch==2.14.1 torchvision==0.29.1

$(UPSCALERS_VENV)/.installed: pyproject.toml
	python3 -m venv $(UPSCALERS_VENV)
	$(UPSCALERS_VENV)/bin/python -m pip install --quiet $(UPSCALERS_TORCH) $(PIP_ARGS)
	$(UPSCALERS_VENV)/bin/python -m pip install --quiet -e '.[engine,upscalers,test]'
	touch $@

test-upscalers: $(UPSCALERS_VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(UPSCALERS_VENV)/bin/python -m pytest tests/test_upscaler_models.py tests/test_upscalers.py tests/ui/test_upscale_window.py $(PYTEST_ARGS)

bench: install
	$(PY) -m tests.bench $(ARGS)

clean:
	rm -rf $(VENV) $(UPSCALERS_VENV) build *.egg-info

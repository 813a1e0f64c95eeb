# Two commands matter: `make run` and `make test`. Both create the virtual environment on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch, asked for explicitly: PyPI's plain `torch` is the multi-GB CUDA build on Linux. A local
# wheel folder or index that has the +cpu build (pip's own configuration) is used first; otherwise PyTorch's CPU
# index. Other builds the same way, pinned with their tag (README, "Two commands"), e.g. an NVIDIA GPU:
# `make install TORCH=torch==2.13.0+cu130 TORCH_INDEX=https://download.pytorch.org/whl/cu130`; or run
# `.venv/bin/studio setup --yes` afterwards to switch .venv to the build the app's set-up proposes.
TORCH ?= torch==2.13.0+cpu
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: install run test test-upscalers bench lint clean package package-smoke package-report

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH)" --index-url "$(TORCH_INDEX)"
	$(PY) -m pip install --quiet -e '.[engine,openvino,openvino-int8,gguf,test]'
	touch $@

run: install
	$(VENV)/bin/studio $(ARGS)

# The suite runs in one process per core (pytest-xdist), each with one torch thread: its tiny models gain nothing
# from more, and two processes' thread pools competing for the cores would slow both.
TEST_WORKERS ?= auto
test: install
	QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

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

# Also Qwen-Image-Edit's tests: its Qwen2VLProcessor needs torchvision too.
test-upscalers: $(UPSCALERS_VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(UPSCALERS_VENV)/bin/python -m pytest tests/test_upscaler_models.py tests/test_upscalers.py tests/ui/test_upscale_window.py tests/test_qwen_image.py $(PYTEST_ARGS)

bench: install
	$(PY) -m tests.bench $(ARGS)

# Installers into dist/: the Linux tarball and the Windows installer (NSIS's makensis; the .app/DMG on macOS).
package: install
	$(PY) packaging/build.py $(PACKAGE_TARGETS)

# Torch wheels for the smoke test's first-run set-up (STUDIO_TORCH_WHEELS); empty: PyTorch's index.
TORCH_WHEELS ?= $(wildcard /opt/wheels)
SMOKE_WHEELS := $(if $(TORCH_WHEELS),--wheels $(TORCH_WHEELS))

# Install this OS's installer from dist/ as a new user, set up torch, generate, open the window, uninstall.
package-smoke: install
	$(PY) packaging/smoke.py $(SMOKE_WHEELS) $(ARGS)

# Installer sizes, install and first-start times (an install with an empty download cache).
package-report: install
	$(PY) packaging/report.py $(SMOKE_WHEELS)

clean:
	rm -rf $(VENV) $(UPSCALERS_VENV) build *.egg-info

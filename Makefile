# mmsoco: `make demo` and `make test` are the two commands a newcomer needs.
# Both create .venv when missing and install the pinned stack once (a stamp file
# records it); later runs skip straight to the job. Every pip install takes the
# exact versions of requirements/constraints.txt; `make install CONSTRAINTS=`
# installs without them (the stamp records the setting, so switching reinstalls).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mmsoco-installed
DEMO_DIR ?= data/demo
PYTEST_ARGS ?=
TESTS ?= tests
CONSTRAINTS ?= requirements/constraints.txt
PIP_INSTALL := $(PIP) install $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
STAMP_TEXT := constraints=$(CONSTRAINTS)

REQS := requirements/build.txt requirements/torch.txt requirements/mminstall.txt \
        requirements/runtime.txt requirements/tests.txt setup.cfg pyproject.toml \
        $(CONSTRAINTS)

.PHONY: install demo test lint clean-venv

# A stamp written under another CONSTRAINTS setting (or before the setting was
# recorded) is out of date whatever its age.
ifneq ($(file <$(STAMP)),$(STAMP_TEXT))
.PHONY: $(STAMP)
endif

install: $(STAMP)

$(STAMP): $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -q --upgrade pip
	$(PIP_INSTALL) -q -r requirements/build.txt
	$(PIP_INSTALL) -q -r requirements/torch.txt
	@# mmcv's ops compile against the torch just installed, hence no build isolation.
	@# With a matching wheel on PIP_FIND_LINKS this is a plain install, else a 7-16 min build.
	MMCV_WITH_OPS=1 $(PIP_INSTALL) --no-build-isolation -r requirements/mminstall.txt
	$(PIP_INSTALL) -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP_INSTALL) -q --no-build-isolation --no-deps -e .
	$(PY) tools/misc/check_install.py
	@echo '$(STAMP_TEXT)' > $@

demo: $(STAMP)
	$(PY) tools/demo.py --data-root $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m pytest $(TESTS) $(PYTEST_ARGS)

# Lint: OpenMMLab's flake8 / isort / yapf over the whole repo (settings in
# setup.cfg). The linters are
# installed into $(LINT_VENV) from requirements/lint.txt on first use.
LINT_VENV ?= .venv-lint
LINT_STAMP := $(LINT_VENV)/.lint-installed
LINT_PATHS := mmsoco tools tests benchmarks configs

$(LINT_STAMP): requirements/lint.txt
	@test -x $(LINT_VENV)/bin/python || $(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install -q -r requirements/lint.txt
	@touch $@

lint: $(LINT_STAMP)
	$(LINT_VENV)/bin/flake8 $(LINT_PATHS)
	$(LINT_VENV)/bin/isort --check-only --diff $(LINT_PATHS)
	$(LINT_VENV)/bin/yapf --diff --recursive $(LINT_PATHS)

clean-venv:
	rm -rf $(VENV)

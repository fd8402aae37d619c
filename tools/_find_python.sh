# Which Python the launch scripts run (sourced, not run). Sets PYTHON:
#   1. $PYTHON, when set and not empty;
#   2. else .venv/bin/python of the checkout this file lives in (what
#      `make install` creates), so the scripts work from a shell where that
#      .venv is not activated;
#   3. else `python` from PATH.
if [ -z "${PYTHON:-}" ]; then
    _mmsoco_venv_python="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin/python"
    if [ -x "$_mmsoco_venv_python" ]; then
        PYTHON=$_mmsoco_venv_python
    else
        PYTHON=python
    fi
    unset _mmsoco_venv_python
fi

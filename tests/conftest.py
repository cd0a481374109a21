"""Shared pytest configuration: the network lab's fixtures, ``lab`` marker and leak check.

The implementation lives in ``tests/lab/pytest_plugin.py``; hooks and fixtures are re-exported
here because a conftest is the one place pytest picks them up for every test directory without
the project configuration (owned elsewhere) having to name a plugin.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `tests.lab` must be importable however pytest was started (`pytest`, `python -m pytest`, any
# --import-mode), so test modules and this conftest share one copy of the lab package
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.lab.pytest_plugin import (  # noqa: E402
    lab,
    make_lab,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_unconfigure,
)

__all__ = [
    "lab",
    "make_lab",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_sessionstart",
    "pytest_unconfigure",
]

"""The ``windows`` marker and the fixtures of the Wine test bed (see ``wine.py``).

The marker is registered here, beside the only tests that use it, so the lab plugin (owned by
the lab) needs no change; every test in this directory is a ``windows`` test and is skipped
when Wine or the Windows Python is missing, unless ``CLINICNET_WINDOWS_REQUIRED=1`` (CI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.windows import wine as W


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", W.MARKER_DOC)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.windows)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("windows") is not None:
        W.require_windows()


@pytest.fixture(scope="session")
def windows_exe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``clinicnet.exe`` built under Wine once per source hash (cached across sessions)."""
    W.require_windows()
    exe, facts = W.build_exe(tmp_path_factory.mktemp("winexe"))
    W.record_artifact("exe_build", facts)
    return exe, facts

"""pytest integration of the lab: fixtures, the ``lab`` marker, skip rules and the leak check.

Imported by ``tests/conftest.py`` (hooks and fixtures are re-exported there), so every test
directory gets the same behaviour.

Skip rule: a test that uses a lab (fixture ``make_lab``/``lab`` or marker ``lab``) is skipped when
labs cannot run here (not root, no ``ip netns`` ...), except when ``CLINICNET_LAB_REQUIRED=1``
(set by CI): then it fails, so a broken CI machine cannot turn the lab suite into silent skips.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Protocol

import pytest

from . import netns
from .harness import Lab, LabError, LabOptions, teardown_all

LAB_REQUIRED_ENV = "CLINICNET_LAB_REQUIRED"
MARKER_DOC = (
    "lab: builds a network-namespace lab (needs root, iproute2, nftables, dnsmasq); skipped "
    f"when unavailable unless {LAB_REQUIRED_ENV}=1"
)
_LAB_FIXTURES = frozenset({"make_lab", "lab"})


class LabFactory(Protocol):
    """``make_lab(LabOptions(...))`` or ``make_lab(nat_layers=2, ...)``: a built Lab, torn down
    after the test."""

    def __call__(self, options: LabOptions | None = None, *, name: str | None = None, **changes: Any) -> Lab: ...


def require_lab() -> None:
    """Skip (or fail, when labs are required) if labs cannot be built on this machine."""
    ok, why = netns.lab_available()
    if ok:
        return
    if os.environ.get(LAB_REQUIRED_ENV) == "1":
        pytest.fail(f"{LAB_REQUIRED_ENV}=1 but the lab cannot run: {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture
def make_lab() -> Iterator[LabFactory]:
    """Factory fixture: build labs inside a test; all are torn down after it, pass or fail."""
    require_lab()
    labs: list[Lab] = []

    def factory(options: LabOptions | None = None, *, name: str | None = None, **changes: Any) -> Lab:
        if changes:
            options = dataclasses.replace(options or LabOptions(), **changes)
        lab = Lab(options, name=name)
        labs.append(lab)
        lab.build()
        return lab

    try:
        yield factory
    finally:
        errors: list[BaseException] = []
        for lab in reversed(labs):
            errors += lab.close()
        if errors:
            raise LabError(f"lab cleanup callbacks failed: {errors!r}") from errors[0]


@pytest.fixture
def lab(make_lab: LabFactory) -> LabFactory:
    """Alias of ``make_lab`` (the same factory), for tests that read better with it."""
    return make_lab


# -- hooks (re-exported by tests/conftest.py) ------------------------------------------------

_previous_sigterm: Callable[[int, FrameType | None], Any] | int | None = None


def _sigterm_to_interrupt(signum: int, frame: FrameType | None) -> None:
    # a CI timeout sends SIGTERM; as KeyboardInterrupt pytest unwinds, fixtures and the
    # session-end leak check run, and the namespaces are deleted instead of leaking
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    global _previous_sigterm
    config.addinivalue_line("markers", MARKER_DOC)
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGTERM)
        if current == signal.SIG_DFL:
            _previous_sigterm = current
            signal.signal(signal.SIGTERM, _sigterm_to_interrupt)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _previous_sigterm
    if _previous_sigterm is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _previous_sigterm)
        _previous_sigterm = None


def pytest_sessionstart(session: pytest.Session) -> None:
    # labs of earlier runs that were SIGKILLed (owner process gone) would otherwise pile up
    if os.geteuid() == 0:
        netns.sweep_stale()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _LAB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("lab") is not None:
        require_lab()


def leaked_namespaces() -> list[str]:
    """Namespaces of this run that still exist (prefix match, plus labs created with a custom
    ``name=``), and /etc/netns leftovers of either."""
    leaked = set(netns.list_namespaces(netns.RUN_PREFIX))
    existing = set(netns.list_namespaces())
    leaked |= netns.remembered() & existing
    etc = netns.ETC_NETNS_DIR
    if etc.is_dir():
        for d in etc.iterdir():
            if d.name.startswith(netns.RUN_PREFIX) or d.name in netns.remembered():
                leaked.add(d.name)
    return sorted(leaked)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leak check: no namespace of this run may survive the session.

    Leftovers are deleted either way; if there were any, the session fails (a hook must not
    raise, so the exit status is set instead).
    """
    leaked = leaked_namespaces()
    teardown_all()
    netns.delete_namespaces(leaked)
    if not leaked:
        return
    interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED
    if interrupted:  # fixtures do not tear down on KeyboardInterrupt: expected, not a leak
        message = f"lab: namespaces torn down after the interruption: {', '.join(leaked)}"
    else:
        message = f"lab leak check: namespaces of this run were left behind: {', '.join(leaked)}"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("!", message, red=not interrupted, yellow=interrupted)
    else:  # pragma: no cover - terminal plugin disabled
        print(message)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

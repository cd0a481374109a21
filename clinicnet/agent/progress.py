"""Live progress of ``diagnose`` on the terminal (stderr, so ``--json -`` stays clean).

UI state lives here and only here: the runner calls ``started``/``finished`` and
knows nothing about terminals. On a TTY a rich live table shows each probe as
running or finished with its one-line result; elsewhere (logs, CI, pipes) one
plain line per event; with --quiet nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any

from clinicnet.model import ProbeResult, Status
from clinicnet.probes import registry
from clinicnet.probes.interface import ProbeSpec

_MARK = {Status.OK: "✔", Status.FAILED: "✘", Status.SKIPPED: "–", Status.ERROR: "!"}
_STYLE = {Status.OK: "green", Status.FAILED: "red", Status.SKIPPED: "dim", Status.ERROR: "yellow"}


def _title(spec: ProbeSpec, lang: str) -> str:
    return spec.title.get(lang)


def _reason(result: ProbeResult, lang: str) -> str:
    """The one-line reason in the user's language (the report's words, from the code)."""
    return registry.reason(result, lang)


def _escape(text: str) -> str:
    """A measured string must not be read as rich markup (``[/]`` in a hostile name)."""
    from rich.markup import escape

    return escape(text)


class PlainProgress:
    def __init__(self, lang: str, stream: IO[str] | None = None) -> None:
        self.lang = lang
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _line(self, text: str) -> None:
        with self._lock:
            print(f"[{time.monotonic() - self._t0:5.1f}s] {text}", file=self.stream, flush=True)

    def started(self, spec: ProbeSpec) -> None:
        self._line(f"… {_title(spec, self.lang)}")

    def finished(self, spec: ProbeSpec, result: ProbeResult) -> None:
        self._line(f"{_MARK[result.status]} {_title(spec, self.lang)}: {result.status.value} - {_reason(result, self.lang)}")


class LiveProgress:
    """A rich Live table; rich is imported only here, only on a TTY."""

    def __init__(self, lang: str, stream: IO[str] | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.lang = lang
        self.console = Console(file=stream or sys.stderr)
        self._rows: dict[str, tuple[ProbeSpec, float, ProbeResult | None]] = {}
        self._lock = threading.Lock()
        self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False)

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(width=2)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", width=6)
        table.add_column(overflow="ellipsis", no_wrap=True)
        now = time.monotonic()
        for spec, t0, result in self._rows.values():
            if result is None:
                table.add_row("[cyan]…[/]", _title(spec, self.lang), f"{now - t0:4.1f}s", "")
            else:
                style = _STYLE[result.status]
                table.add_row(
                    f"[{style}]{_MARK[result.status]}[/]",
                    _title(spec, self.lang),
                    f"{result.duration_s:4.1f}s",
                    f"[{style}]{_escape(_reason(result, self.lang))}[/]",
                )
        return table

    def __enter__(self) -> LiveProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._live.update(self._render())
        self._live.__exit__(None, None, None)

    def started(self, spec: ProbeSpec) -> None:
        with self._lock:
            self._rows[spec.name] = (spec, time.monotonic(), None)
            self._live.update(self._render())

    def finished(self, spec: ProbeSpec, result: ProbeResult) -> None:
        with self._lock:
            _, t0, _ = self._rows.get(spec.name, (spec, time.monotonic(), None))
            self._rows[spec.name] = (spec, t0, result)
            self._live.update(self._render())


class QuietProgress:
    def __enter__(self) -> QuietProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def started(self, spec: ProbeSpec) -> None:
        pass

    def finished(self, spec: ProbeSpec, result: ProbeResult) -> None:
        pass


def make(lang: str, quiet: bool) -> PlainProgress | LiveProgress | QuietProgress:
    if quiet:
        return QuietProgress()
    if sys.stderr.isatty():
        try:
            return LiveProgress(lang)
        except ImportError:
            pass
    return PlainProgress(lang)

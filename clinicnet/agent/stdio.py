"""Standard output and error that never crash a run: encodings and vanished readers.

Why this exists: a clinic PC's stdout is whatever the caller made it. On Windows a
pipe or a redirected file gets the ANSI code page (cp932, cp1252), which cannot
encode every character a report holds (Japanese text, an em dash in an evidence
value), and a closed stdout, a full disk or a reader that left (``| head``) turned
into tracebacks after the probing was done. So, first thing in ``main``:

- files and pipes get UTF-8 whatever the code page (what every reader of a report
  expects; Notepad reads UTF-8 without a BOM since Windows 10 1903, and a BOM would
  corrupt ``--json -`` for a program reading it);
- a console keeps its own encoding (Windows' console is Unicode already) and
  replaces what it cannot show instead of failing;
- a lone surrogate (from a file name or a result file's ``\\udcff`` escape) is
  written as its backslash escape, which in JSON text is the same string again;
- a write or flush that fails (closed, ``/dev/full``, broken pipe) raises
  :class:`OutputError`, a usage error: one line on stderr, exit code 2.

Stdlib only and no work at import: it runs on every start.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, TextIO

from clinicnet.errors import UsageError


class OutputError(UsageError):
    """Standard output cannot be written: closed, full or a pipe whose reader left."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BrokenPipeError):
        return "the reading program has closed the pipe"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, ValueError):
        return "it is closed"
    return str(exc) or type(exc).__name__


class GuardedStdout:
    """``sys.stdout`` whose failures are :class:`OutputError`, once; later writes are dropped.

    A proxy rather than a new text layer: it keeps the stream's buffer, encoding and
    ``isatty`` (and a test's captured stdout) as they are.
    """

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self._failed = False

    @property
    def failed(self) -> bool:
        return self._failed

    def _broken(self, exc: BaseException | None) -> None:
        """The stream failed: mark it dead and say so (stdout: as a usage error)."""
        self._failed = True
        _silence_fd(self._stream)
        why = "it is closed" if exc is None else _reason(exc)
        raise OutputError(f"cannot write to standard output: {why}") from None

    def write(self, text: str) -> int:
        if self._failed:
            return len(text)
        if self._stream is None:
            self._broken(None)
            return len(text)
        try:
            return self._stream.write(text)
        except (OSError, ValueError) as exc:
            self._broken(exc)
            return len(text)

    def flush(self) -> None:
        if self._failed or self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as exc:
            self._broken(exc)

    def write_bytes(self, data: bytes) -> None:
        """Bytes as they are (``--json -`` is UTF-8 whatever the console or code page)."""
        if self._failed:
            return
        if self._stream is None:
            self._broken(None)
            return
        buffer = getattr(self._stream, "buffer", None)
        try:
            if buffer is None:  # a text-only stand-in (tests): it takes text
                self._stream.write(data.decode("utf-8"))
                self._stream.flush()
                return
            self._stream.flush()
            buffer.write(data)
            buffer.flush()
        except (OSError, ValueError) as exc:
            self._broken(exc)

    def isatty(self) -> bool:
        try:
            return self._stream is not None and self._stream.isatty()
        except (OSError, ValueError):
            return False

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)


class GuardedStderr(GuardedStdout):
    """``sys.stderr`` that cannot take the run down: closed, full or a pipe whose reader
    left, progress and messages are dropped (there is nowhere left to say so)."""

    def _broken(self, exc: BaseException | None) -> None:
        self._failed = True
        _silence_fd(self._stream)


def _silence_fd(stream: TextIO | None) -> None:
    """Point the dead stream's descriptor at the null device.

    Whatever is still buffered is flushed again when the interpreter exits; into a
    broken pipe that prints "Exception ignored ... BrokenPipeError" after our one line.
    """
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)


def _configure(stream: TextIO | None) -> None:
    """UTF-8 to files and pipes, the console's own encoding with replacement."""
    reconfigure = getattr(stream, "reconfigure", None)
    if stream is None or reconfigure is None:
        return
    try:
        console = stream.isatty()
    except (OSError, ValueError):
        return
    with contextlib.suppress(OSError, ValueError, LookupError):
        if console:
            reconfigure(errors="replace")
        else:
            reconfigure(encoding="utf-8", errors="backslashreplace")


def setup() -> GuardedStdout:
    """Make stdout and stderr safe for this run; returns the guarded stdout."""
    if not isinstance(sys.stderr, GuardedStderr):
        _configure(sys.stderr)
        sys.stderr = GuardedStderr(sys.stderr)  # type: ignore[assignment]
    current = sys.stdout
    if isinstance(current, GuardedStdout):
        return current
    _configure(current)
    guarded = GuardedStdout(current)
    sys.stdout = guarded  # type: ignore[assignment]
    return guarded


def stdout() -> GuardedStdout:
    """The guarded stdout (guarding it now if ``setup`` has not run, e.g. a library call)."""
    return sys.stdout if isinstance(sys.stdout, GuardedStdout) else setup()


def error_line(message: str) -> None:
    """One line on stderr; a stderr that is gone too cannot be helped, only not crashed on."""
    err = sys.stderr
    if err is None:
        return
    try:
        err.write(message + "\n")
        err.flush()
    except (OSError, ValueError):
        _silence_fd(err)

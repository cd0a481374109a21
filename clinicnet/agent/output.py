"""Writing reports to files and streams: atomically, so nothing half-written is left."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from pathlib import Path

from clinicnet.errors import UsageError
from clinicnet.reports.report import Report


def render(report: Report, fmt: str, lang: str, *, color: bool = False) -> str:
    if fmt == "json":
        return report.dumps()
    if fmt == "html":
        from clinicnet.reports import render_html

        return render_html.render(report, lang)
    if fmt == "markdown":
        from clinicnet.reports import render_markdown

        return render_markdown.render(report, lang)
    if fmt == "text":
        from clinicnet.reports import render_text

        return render_text.render(report, lang, color=color)
    raise ValueError(fmt)


def check_path(path: str) -> Path:
    """Refuse before probing what could not be written after it (a usage error, exit 2).

    Returns the folder the file goes into.
    """
    return _checked(path)[0]


def _checked(path: str) -> tuple[Path, os.stat_result | None]:
    """:func:`check_path`'s checks; the folder, and what is at ``path`` now (None: nothing)."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        if target.is_dir():
            raise UsageError(f"{path} is a directory; give a file name")
        if not parent.is_dir():
            what = "is not a folder" if parent.exists() else "does not exist"
            raise UsageError(f"cannot write {path}: folder {parent} {what}")
        # is_dir() answers False for a name the system refuses (too long, bad
        # characters on Windows) only sometimes: ask the way the write will.
        return parent, os.stat(target)
    except FileNotFoundError:
        return parent, None  # the usual case: a new file in an existing folder
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # an embedded NUL
        raise UsageError(f"cannot write {path!r}: {exc}") from None


def _destination(path: str) -> tuple[str | None, os.stat_result | None]:
    """Where an atomic write of ``path`` lands, and what is there now.

    A symbolic link stays a link: its target is replaced. None for a device, a FIFO
    or ``/dev/stdout``, which are written into: renaming over them would, for root,
    swap ``/dev/null`` for a file.
    """
    _, st = _checked(path)  # one stat for the checks and the answer
    if st is not None and not stat.S_ISREG(st.st_mode):
        return None, st
    return (os.path.realpath(path) if os.path.islink(path) else path), st


def check_writable(path: str) -> None:
    """:func:`check_path`, and a file can really be made where the report goes (not in
    a read-only or full folder, not without permission): asked before probing, since a
    report that cannot be saved after the run wastes it."""
    final, _ = _destination(path)
    if final is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=".clinicnet-", dir=os.path.dirname(final) or ".")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file and rename: never a half-written file
    (a device or FIFO is written into, see :func:`_destination`)."""
    final, st = _destination(path)
    if final is None:
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        return
    # an existing report keeps its mode; a new one gets the umask's (mkstemp's is 0600)
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".clinicnet-", dir=os.path.dirname(final) or ".")
        with contextlib.suppress(OSError, AttributeError):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, final)
        tmp = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def encode(text: str) -> bytes:
    """UTF-8 that cannot fail: a lone surrogate (from a file name, or a result file's
    ``\\udcff`` escape) is written as its backslash escape, which JSON reads back as
    the same string."""
    return text.encode("utf-8", "backslashreplace")


def _umask() -> int:
    """The process umask (reading it means setting it: put it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: str, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path``; ``-`` is stdout (UTF-8 whatever its code page)."""
    if path == "-":
        from clinicnet.agent import stdio

        stdio.stdout().write_bytes(encode(text))
        return
    write_bytes(path, encode(text))


def default_paths(output_dir: str | None) -> dict[str, str]:
    """File names used when no output option is given (double-click use)."""
    base = Path(output_dir or ".")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return {
        "html": str(base / f"clinicnet-report-{stamp}.html"),
        "json": str(base / f"clinicnet-report-{stamp}.json"),
    }

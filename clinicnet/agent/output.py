"""Writing reports to files and streams: atomically, so nothing half-written is left."""

from __future__ import annotations

import contextlib
import os
import sys
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
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a directory; give a file name")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: folder {parent} does not exist")
    return parent


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file and rename: never a half-written file."""
    parent = check_path(path)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".clinicnet-", dir=parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``; ``-`` is stdout."""
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_bytes(path, text.encode("utf-8"))


def default_paths(output_dir: str | None) -> dict[str, str]:
    """File names used when no output option is given (double-click use)."""
    base = Path(output_dir or ".")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return {
        "html": str(base / f"clinicnet-report-{stamp}.html"),
        "json": str(base / f"clinicnet-report-{stamp}.json"),
    }

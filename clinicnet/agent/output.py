"""Writing reports to files and streams: atomically, so nothing half-written is left."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from clinicnet.agent.config import UsageError
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


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` (``-`` = stdout) via a temp file and rename."""
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a directory; give a file name")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: folder {parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".clinicnet-", dir=parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def default_paths(output_dir: str | None) -> dict[str, str]:
    """File names used when no output option is given (double-click use)."""
    base = Path(output_dir or ".")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return {
        "html": str(base / f"clinicnet-report-{stamp}.html"),
        "json": str(base / f"clinicnet-report-{stamp}.json"),
    }

"""The support bundle: one zip a clinic attaches to a ticket (``diagnose --bundle PATH.zip``).

A receptionist can send one file; the vendor's technician gets everything they
would otherwise ask for in three more calls: the report to read, the JSON to
re-render or diff (``clinicnet report result.json``), a Japanese summary for
the clinic's own records, the probe log with timings (what ran, in which
order, how long each waited) and, with ``--capture``, the probe traffic itself.

The layout is fixed so that tickets can be processed by tools and two bundles
can be compared byte for byte: fixed names, sorted, every entry dated
1980-01-01 00:00 (the zip epoch), mode 0644, deflate level 9. With ``--redact``
every file is redacted by one shared Redactor (the pcap too, see
``pcap_redact``), so a mask means the same address in all of them; a pcap that
cannot be redacted is left out rather than shipped raw.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zipfile
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from clinicnet import SCHEMA, __version__
from clinicnet.agent import output
from clinicnet.agent.config import Settings
from clinicnet.bundle.capture import Capture, CaptureResult
from clinicnet.model import ProbeResult
from clinicnet.probes.interface import ProbeSpec
from clinicnet.reports.report import Report

#: the files a bundle can hold, in zip order; no other names are ever written
REPORT_HTML = "report.html"
RESULT_JSON = "result.json"
SUMMARY_JA = "summary-ja.txt"
PROBE_LOG = "probes.log"
CAPTURE_PCAP = "capture.pcap"
MANIFEST = "manifest.json"
NAMES = (CAPTURE_PCAP, MANIFEST, PROBE_LOG, REPORT_HTML, RESULT_JSON, SUMMARY_JA)

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_MODE = 0o100644


class ProbeLog:
    """A runner observer that records each probe's start and end, and forwards to another.

    Times are seconds since the diagnosis started (monotonic), so the log shows
    what overlapped and what waited for its deadline, which the report's
    per-probe durations alone do not.
    """

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self.lines: list[tuple[float, str]] = []

    def _add(self, text: str) -> None:
        with self._lock:
            self.lines.append((time.monotonic() - self._t0, text))

    def started(self, spec: ProbeSpec) -> None:
        self._add(f"start  {spec.name}")
        if self.inner is not None:
            self.inner.started(spec)

    def finished(self, spec: ProbeSpec, result: ProbeResult) -> None:
        self._add(f"end    {spec.name}: {result.status.value} after {result.duration_s:.3f} s - {result.reason}")
        if self.inner is not None:
            self.inner.finished(spec, result)

    def note(self, text: str) -> None:
        self._add(text)

    def text(self, report: Report) -> str:
        head = [
            f"clinicnet {report.clinicnet_version} probe log ({report.schema})",
            f"created_at: {report.created_at}",
            f"settings: {json.dumps(dict(report.settings), ensure_ascii=False, sort_keys=True)}",
            "",
            "   time  event",
        ]
        with self._lock:
            body = [f"{t:7.3f}s {text}" for t, text in self.lines]
        tail = ["", "per probe (from the report):"]
        for p in report.probes:
            tail.append(f"  {p.name:<12} {p.status.value:<8} {p.duration_s:7.3f} s  started {p.started_at}  {p.reason}")
        wall = report.extra.get("wall_s") if report.extra else None
        if wall is not None:
            tail.append(f"wall time: {wall} s")
        return "\n".join(head + body + tail) + "\n"


def _summary_ja(report: Report) -> str:
    """The Japanese plain-text report, with a BOM and CRLF: clinic PCs open .txt in Notepad."""
    from clinicnet.reports import render_text

    text = render_text.render(report, "ja", color=False)
    return "\ufeff" + text.replace("\r\n", "\n").replace("\n", "\r\n")


def build_files(
    report: Report,
    lang: str,
    *,
    redact: bool,
    log_text: str,
    capture: CaptureResult | None,
) -> dict[str, bytes]:
    """Every file of the bundle as bytes (pure: no clock, no I/O), keyed by fixed name."""
    from clinicnet.reports import render_html

    redactor = None
    shown = report
    if redact:
        from clinicnet.reports.redact import Redactor
        from clinicnet.reports.redact import redact as redact_report

        redactor = Redactor.for_report(report)
        shown = redact_report(report, redactor)
        log_text = redactor.text(log_text)

    files: dict[str, bytes] = {
        REPORT_HTML: render_html.render(shown, lang).encode("utf-8"),
        RESULT_JSON: shown.dumps().encode("utf-8"),
        SUMMARY_JA: _summary_ja(shown).encode("utf-8"),
        PROBE_LOG: log_text.encode("utf-8"),
    }
    cap: dict[str, Any] = {"requested": capture is not None}
    if capture is not None:
        cap.update(tool=capture.tool, note=capture.note)
        flt = capture.filter
        dests = list(capture.destinations)
        if redactor is not None:
            flt = redactor.text(flt)
            dests = [redactor.text(d) for d in dests]
        cap.update(filter=flt, destinations=dests)
        if capture.pcap is not None:
            pcap = capture.pcap
            legend: dict[str, str] = {}
            ok = True
            if redactor is not None:
                from clinicnet.bundle.pcap_redact import PcapError, redact_pcap

                try:
                    pcap, legend = redact_pcap(pcap, redactor)
                except PcapError as exc:
                    ok = False
                    cap["note"] = f"capture left out: it could not be redacted ({exc})"
            if ok:
                from clinicnet.bundle.capture import packet_count

                files[CAPTURE_PCAP] = pcap
                cap["packets"] = packet_count(pcap)
                if redactor is not None:
                    # mask -> stand-in address used in the pcap (never the original)
                    cap["addresses"] = legend
    manifest = {
        "bundle": "clinicnet support bundle",
        "clinicnet_version": report.clinicnet_version or __version__,
        "schema": report.schema or SCHEMA,
        "created_at": report.created_at,
        "verdict": report.verdict.value,
        "lang": lang,
        "redacted": redact,
        "capture": cap,
        "files": [
            {"name": n, "bytes": len(files[n]), "sha256": hashlib.sha256(files[n]).hexdigest()}
            for n in sorted(files)
        ],
    }
    files[MANIFEST] = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return files


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """The zip: sorted names, fixed dates and modes, so equal content gives equal bytes."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = _MODE << 16
            zf.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


class BundleRun:
    """Everything ``diagnose --bundle`` adds around one diagnosis.

    Use as a context manager around the probes: the capture (if asked) starts on
    enter and always stops on exit; ``observer`` records the probe log and
    forwards to the progress view; ``write`` makes the zip from the report.
    """

    def __init__(self, path: str, settings: Settings, *, capture: bool, observer: Any = None) -> None:
        output.check_path(path)
        self.path = path
        self.observer = ProbeLog(observer)
        self._capture: Capture | None = None
        self._result: CaptureResult | None = None
        if capture:
            from clinicnet.bundle import capture as cap

            self._capture = cap.for_settings(settings.targets, settings.reflectors, settings.internet_checks)

    def __enter__(self) -> BundleRun:
        if self._capture is not None:
            self._capture.start()
            what = self._capture.tool or "none"
            self.observer.note(f"capture: {what}; filter: {self._capture.filter_text}"
                               + (f"; {self._capture.note}" if self._capture.note else ""))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._capture is not None:
            self._result = self._capture.stop()
            self.observer.note(f"capture stopped: {self._result.note or 'ok'}")

    @property
    def capture_note(self) -> str:
        """Why the bundle has no pcap although --capture was given ("" when it has one)."""
        return self._result.note if self._result is not None else ""

    def write(self, report: Report, lang: str, *, redact: bool) -> str:
        files = build_files(report, lang, redact=redact, log_text=self.observer.text(report),
                            capture=self._result if self._capture is not None else None)
        output.write_bytes(self.path, zip_bytes(files))
        return self.path

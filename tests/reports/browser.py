"""A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``.

Why a pipe and not a port: no listening socket, no websocket library, no port to
race for; Chromium reads NUL-terminated JSON commands on fd 3 and writes replies
and events on fd 4. Enough for the report tests: open a file:// page, record
every network request, console message and exception, take a screenshot,
print to PDF.

The browser is sandboxed from the network twice over: all names resolve to
nothing (``--host-resolver-rules``) and all traffic goes to a dead loopback
proxy, so even a report that tried to load something could not reach out;
the test sees the attempt through the Network domain and fails.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--remote-debugging-pipe",
)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    """The pipe moved to fds >= 10, so that the shell's 3<&N 4>&M cannot clobber it."""
    out = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return out[0], out[1]


class Browser:
    """One headless Chromium with a fresh profile, driven over the DevTools pipe."""

    def __init__(self, binary: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="clinicnet-chromium-")
        cmd_r, self._cmd_w = _high(os.pipe())  # we write commands, the browser reads fd 3
        self._evt_r, evt_w = _high(os.pipe())  # the browser writes fd 4, we read

        try:
            # stderr to a file: a pipe nobody reads fills up and stalls the browser
            self._log = open(Path(self.profile) / "chromium.log", "wb")  # noqa: SIM115 - closed in close()
            # The browser wants the pipe on fds 3 and 4 exactly; bash puts it there
            # (subprocess would close 3 and 4 after a preexec_fn dup2; dash cannot name fds >= 10).
            script = f'exec "$0" "$@" 3<&{cmd_r} 4>&{evt_w} {cmd_r}<&- {evt_w}>&-'
            self.proc = subprocess.Popen(
                [shutil.which("bash") or "/bin/bash", "-c", script, binary, *FLAGS,
                 f"--user-data-dir={self.profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
                pass_fds=(cmd_r, evt_w),
            )
        except BaseException:
            # __exit__ never runs for a constructor that raised: give back what it took
            for fd in (self._cmd_w, self._evt_r):
                os.close(fd)
            if hasattr(self, "_log"):
                self._log.close()
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        finally:
            os.close(cmd_r)
            os.close(evt_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    # -- protocol ----------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._evt_r], [], [], left)
            if ready:
                chunk = os.read(self._evt_r, 1 << 20)
                if not chunk:
                    err = (Path(self.profile) / "chromium.log").read_text("utf-8", "replace")
                    raise RuntimeError(f"Chromium closed the pipe: {err[-2000:]}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})  # type: ignore[no-any-return]
            self.events.append(m)

    def wait_event(self, method: str, timeout: float | None = None) -> dict[str, Any]:
        for e in self.events:
            if e.get("method") == method:
                return e
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self._read_message(deadline)
            self.events.append(m)
            if m.get("method") == method:
                return m

    # -- a page --------------------------------------------------------------------------

    def open(self, url: str, width: int = 1024, height: int = 800) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")
        # let late work (fonts, timers) show up as events too
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                self.events.append(self._read_message(deadline))
            except TimeoutError:
                break

    def evaluate(self, expression: str) -> Any:
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        return r.get("result", {}).get("value")

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def problems(self) -> list[str]:
        """Console errors/warnings, uncaught exceptions, log errors and dialogs (alert())."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
            elif m == "Runtime.exceptionThrown":
                out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Page.javascriptDialogOpening":
                out.append(f"dialog: {p.get('message')}")
        return out

    def screenshot(self, path: Path, width: int = 1024) -> None:
        metrics = self.send("Page.getLayoutMetrics")
        height = int(min(12000, metrics.get("cssContentSize", metrics.get("contentSize", {})).get("height", 800)))
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.write_bytes(base64.b64decode(data))

    def pdf(self, path: Path) -> bytes:
        data = base64.b64decode(self.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})["data"])
        path.write_bytes(data)
        return data

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._evt_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

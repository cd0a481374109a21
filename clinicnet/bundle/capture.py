"""Capturing the probes' own traffic for a support bundle (``diagnose --bundle --capture``).

Only the probe traffic: the capture filter names the probe destinations (targets,
reflectors, internet-check hosts, resolved before probing), the resolvers on port
53, and ICMP errors that quote a packet sent to one of them (unreachable,
time exceeded, fragmentation needed: the evidence for MTU and filtering
findings). A clinic PC's other traffic (the receptionist's browser, the
electronic chart) stays out of the ticket.

The capturing tool is whatever the PC already has, in this order: tcpdump
(Linux, macOS), dumpcap (Wireshark; on Windows it uses Npcap), scapy's
AsyncSniffer (imported only here, only when neither exists). Capturing needs
administrator/root rights (and Npcap on Windows); without them the bundle is
written without a pcap and its manifest says why. Capturing never makes the
diagnosis fail.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: how long to wait for the tool to say it is listening (tcpdump: ~0.1 s), and for it to
#: finish after the interrupt (it writes packet by packet, -U: a kill loses nothing written);
#: both count against the run's time (the start comes out of --timeout)
_READY_S = 1.5
_STOP_S = 1.0
#: late answers (an ICMP error, an IKE retransmission's reply) still belong to the run
_LINGER_S = 0.3


@dataclass
class CaptureResult:
    pcap: bytes | None
    tool: str = ""
    #: the capture filter, addresses spelled out (never hex words: those escape redaction)
    filter: str = ""
    note: str = ""
    #: destinations the filter names (for the manifest; redacted there when asked)
    destinations: list[str] = field(default_factory=list)


def hosts_of(targets: Iterable[str], reflectors: Iterable[str], internet_checks: Iterable[str]) -> list[str]:
    """Host names and addresses the probes will contact."""
    from clinicnet.agent.diagnose import check_hosts

    return list(dict.fromkeys([*targets, *reflectors, *check_hosts(list(internet_checks))]))


def resolve_all(hosts: Iterable[str], timeout: float = 1.0) -> list[str]:
    """Addresses of ``hosts`` by the run's shared lookups (the probes reuse them), waiting at
    most ``timeout`` in all: a dead resolver must not stall the run, and a name without an
    answer by then is left out of the filter."""
    from clinicnet.probes import _deadline

    addrs: list[str] = []
    names: list[str] = []
    for h in hosts:
        try:
            addrs.append(str(ipaddress.ip_address(h)))
        except ValueError:
            names.append(h)
    lookups = _deadline.run_lookups()
    lookups.start_all(names)
    until = time.monotonic() + timeout
    for h in names:
        for fam in (socket.AF_INET, socket.AF_INET6):
            addrs.extend(a.split("%", 1)[0] for a in lookups.resolve(h, fam, until).addresses)
    return sorted(dict.fromkeys(addrs), key=lambda a: (":" in a, a))


def _v6_words(addr: str) -> list[str]:
    packed = ipaddress.IPv6Address(addr).packed
    return [f"0x{packed[i:i + 4].hex()}" for i in range(0, 16, 4)]


def bpf_filter(destinations: Sequence[str], resolvers: Sequence[str], *, readable: bool = False) -> str:
    """A BPF filter for the probe traffic alone (tcpdump/dumpcap/libpcap syntax).

    ``readable`` spells the quoted-packet matches as addresses instead of hex
    words: that form goes into the manifest and the log, where the redactor can
    find and mask the addresses (it cannot recognise ``0xc000020a``).
    """
    parts = [f"host {a}" for a in destinations]
    parts += [f"(host {r} and port 53)" for r in resolvers if r not in destinations]
    v4 = [a for a in destinations if ":" not in a]
    v6 = [a for a in destinations if ":" in a]
    if v4:
        # ICMP errors quoting a packet to a destination: inner IPv4 destination at icmp[24]
        inner = " or ".join(
            f"icmp[24:4] = {a}" if readable else f"icmp[24:4] = 0x{ipaddress.IPv4Address(a).packed.hex()}"
            for a in v4
        )
        parts.append(f"(icmp and (icmp[0] = 3 or icmp[0] = 11 or icmp[0] = 12) and ({inner}))")
    if v6:
        # ICMPv6 errors (types 1-4) directly after the IPv6 header; inner destination at 72
        inner = " or ".join(
            f"ip6[72:16] = {a}" if readable else
            "(" + " and ".join(f"ip6[{72 + 4 * i}:4] = {w}" for i, w in enumerate(_v6_words(a))) + ")"
            for a in v6
        )
        parts.append(f"(ip6 and ip6[6] = 58 and ip6[40] < 5 and ({inner}))")
    return " or ".join(parts) if parts else "less 0"  # "less 0" matches nothing


def choose_tool(which: Any = shutil.which, order: Sequence[str] | None = None) -> str | None:
    """The capture tool to use: the OS's programs in its order (``system.capture.tools``), else scapy."""
    if order is None:
        from clinicnet.system import capture as os_capture

        order = os_capture.tools()
    for tool in order:
        if which(tool):
            return tool
    try:
        import importlib.util

        if importlib.util.find_spec("scapy") is not None:
            return "scapy"
    except (ImportError, ValueError):
        pass
    return None


def tool_argv(tool: str, path: str, bpf: str, interfaces: Sequence[str] = ("any",)) -> list[str]:
    exe = shutil.which(tool) or tool
    if tool == "tcpdump":
        # --immediate-mode: without it packets wait in the kernel's ring buffer for up to
        # a second and the SIGINT that ends the capture discards them (a diagnosis that
        # takes 0.1 s was lost whole in the lab).
        return [exe, "--immediate-mode", "-i", interfaces[0], "-n", "-U", "-s", "0", "-w", path, bpf]
    if tool == "dumpcap":
        argv = [exe]
        for i in interfaces:
            argv += ["-i", i]
        return [*argv, "-P", "-s", "0", "-f", bpf, "-w", path]
    raise ValueError(tool)


class Capture:
    """One capture around one diagnosis: ``start()`` before the probes, ``stop()`` after."""

    def __init__(self, destinations: Sequence[str], resolvers: Sequence[str], *,
                 privileged: bool, raw_reason: str = "") -> None:
        self.destinations = list(destinations)
        self.resolvers = list(resolvers)
        self.filter = bpf_filter(self.destinations, self.resolvers)
        #: the same filter with addresses spelled out, for the manifest and the log
        self.filter_text = bpf_filter(self.destinations, self.resolvers, readable=True)
        self.privileged = privileged
        self.raw_reason = raw_reason
        self.tool = ""
        self.note = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._sniffer: Any = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._path = ""
        self._reader: threading.Thread | None = None
        self._chunks: list[bytes] = []

    def start(self) -> None:
        if not self.privileged:
            self.note = ("no capture: capturing needs administrator/root rights "
                         f"({self.raw_reason or 'run clinicnet as administrator'})")
            return
        tool = choose_tool()
        if tool is None:
            self.note = "no capture: no capture tool found (install tcpdump, Wireshark's dumpcap, or scapy)"
            return
        self.tool = tool
        self._dir = tempfile.TemporaryDirectory(prefix="clinicnet-capture-")
        self._path = str(Path(self._dir.name) / "capture.pcap")
        try:
            if tool == "scapy":
                self._start_scapy()
            else:
                self._start_process(tool)
        except (OSError, ValueError, ImportError, RuntimeError) as exc:
            self.note = f"no capture: {tool} could not start: {exc}"
            self._cleanup()

    def _start_process(self, tool: str) -> None:
        from clinicnet.system import capture as os_capture

        argv = tool_argv(tool, self._path, self.filter, os_capture.interfaces())
        kwargs = os_capture.popen_options()
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, **kwargs)
        # Both tools say so on stderr once the filter is installed; packets sent
        # before that would be missing from the capture.
        ready = threading.Event()
        chunks: list[bytes] = []

        def reader() -> None:
            assert self._proc is not None and self._proc.stderr is not None
            for line in iter(self._proc.stderr.readline, b""):
                chunks.append(line)
                if b"listening on" in line or b"Capturing on" in line:
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=reader, daemon=True)
        self._reader.start()
        self._chunks = chunks
        ready.wait(_READY_S)
        if self._proc.poll() is not None:
            raise RuntimeError(b"".join(chunks).decode("utf-8", "replace").strip() or "exited at once")


    def _start_scapy(self) -> None:
        from scapy.sendrecv import AsyncSniffer  # lazily: heavy, and optional

        self._sniffer = AsyncSniffer(filter=self.filter, store=True)
        self._sniffer.start()
        time.sleep(0.5)  # AsyncSniffer has no "ready" signal; its socket opens in the thread

    def stop(self) -> CaptureResult:
        result = CaptureResult(None, self.tool, self.filter_text, self.note, list(self.destinations))
        if self.note or not self.tool:
            return result
        time.sleep(_LINGER_S)
        try:
            if self._sniffer is not None:
                result.pcap = self._stop_scapy()
            elif self._proc is not None:
                result.pcap = self._stop_process()
        except (OSError, RuntimeError, ImportError) as exc:
            result.note = f"capture failed: {exc}"
        finally:
            self._cleanup()
        if result.pcap is not None and len(result.pcap) < 24:
            result.note, result.pcap = "capture failed: the tool wrote no pcap", None
        return result

    def _stop_process(self) -> bytes | None:
        proc = self._proc
        assert proc is not None
        if proc.poll() is None:
            from clinicnet.system import capture as os_capture

            os_capture.interrupt(proc)  # the tool flushes and closes its file
            try:
                proc.wait(_STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(1.0)
        try:
            return Path(self._path).read_bytes()
        except OSError as exc:
            err = b"".join(self._chunks).decode("utf-8", "replace").strip()
            raise RuntimeError(f"{exc.strerror or exc}; {err}") from None

    def _stop_scapy(self) -> bytes:
        from scapy.utils import wrpcap

        packets = self._sniffer.stop()
        wrpcap(self._path, packets)
        return Path(self._path).read_bytes()

    def _cleanup(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def for_settings(targets: Sequence[str], reflectors: Sequence[str], internet_checks: Sequence[str]) -> Capture:
    """A capture of what a diagnosis with these settings will send."""
    from clinicnet import system
    from clinicnet.system import capture as os_capture

    dests = resolve_all(hosts_of(targets, reflectors, internet_checks))
    resolvers = [r.split("%", 1)[0] for r in system.resolvers()]
    admin = system.is_admin()
    raw_ok, raw_reason = system.raw_sockets_available() if admin else (False, "")
    # Where capturing needs a driver (Npcap on Windows) the raw-socket check says so; elsewhere admin is enough.
    privileged = admin and (raw_ok or not os_capture.needs_raw_sockets())
    return Capture(dests, resolvers, privileged=privileged, raw_reason=raw_reason)


def packet_count(pcap: bytes) -> int:
    from clinicnet.bundle.pcap_redact import PcapError, parse

    try:
        return len(parse(pcap).records)
    except PcapError:
        return 0


__all__ = ["Capture", "CaptureResult", "bpf_filter", "choose_tool", "for_settings", "hosts_of",
           "packet_count", "resolve_all", "tool_argv"]

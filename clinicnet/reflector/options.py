"""Options of ``clinicnet reflector`` and their validation.

Kept apart from the server so that building the CLI parser (every ``clinicnet``
start) imports nothing but argparse. :func:`validate` turns the parsed options
into :class:`Options` or raises :class:`~clinicnet.errors.UsageError` (one line,
exit 2): a ``nan`` or ``inf`` rate would silently switch a limit off, so numbers
must be finite and positive.
"""

from __future__ import annotations

import argparse
import math
from typing import NamedTuple

from clinicnet.errors import UsageError

DEFAULT_PORTS = "500,4500"
DEFAULT_USER = "nobody"
DEFAULT_RATE = 128.0
DEFAULT_BURST = 256.0
DEFAULT_MAX_SOURCES = 4096
DEFAULT_GLOBAL_RATE = 20000.0
#: delayed answers (protocol v2): the longest delay, and how many may wait per source and in total
DEFAULT_MAX_DELAY = 180.0
DEFAULT_PENDING_PER_SOURCE = 64
DEFAULT_MAX_PENDING = 4096


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bind", action="append", default=[], metavar="ADDR",
                   help="address to listen on (repeatable; default: all IPv4 and IPv6 addresses). "
                        "Bind a specific address to run beside an IKE gateway on the same host")
    p.add_argument("--ports", default=DEFAULT_PORTS, metavar="IKE,NATT",
                   help="UDP ports for IKE-shaped probes and for NAT-T/ESP-in-UDP (default 500,4500)")
    p.add_argument("--no-esp", action="store_true", help="do not open the raw ESP (IP protocol 50) socket")
    p.add_argument("--user", default=DEFAULT_USER,
                   help="user to switch to after binding when started as root (default nobody)")
    p.add_argument("--rate", type=float, default=DEFAULT_RATE, metavar="N",
                   help="probes per second per source address (token bucket refill, default 128)")
    p.add_argument("--burst", type=float, default=DEFAULT_BURST, metavar="N",
                   help="token bucket size per source address (default 256)")
    p.add_argument("--global-rate", type=float, default=DEFAULT_GLOBAL_RATE, metavar="N",
                   help="probes per second for all sources together (bucket of twice that; default 20000)")
    p.add_argument("--max-sources", type=int, default=DEFAULT_MAX_SOURCES, metavar="N",
                   help="source addresses tracked at once; the least recently seen are forgotten (default 4096)")
    p.add_argument("--max-delay", type=float, default=DEFAULT_MAX_DELAY, metavar="SECONDS",
                   help="longest delay granted to a delayed answer (NAT binding lifetime probe; default and "
                        "most 180). Behind a DNAT, keep it below the host's nf_conntrack_udp_timeout")
    p.add_argument("--max-pending", type=int, default=DEFAULT_MAX_PENDING, metavar="N",
                   help="delayed answers waiting at once, all sources together (default 4096; "
                        f"{DEFAULT_PENDING_PER_SOURCE} per source)")
    p.add_argument("--log", metavar="FILE", help="append JSON-lines logs here instead of stderr")
    p.add_argument("--verbose", action="store_true", help="log every answered probe (rate-limited like replies)")


class Options(NamedTuple):
    """``clinicnet reflector``'s options, checked (a NamedTuple, not a dataclass: this module is
    imported at every start, and ``typing`` is loaded by then while ``dataclasses`` is not)."""

    addresses: tuple[str, ...]
    ports: tuple[int, int]
    esp: bool
    user: str
    rate: float
    burst: float
    global_rate: float
    max_sources: int
    log: str | None
    verbose: bool
    max_delay: float = DEFAULT_MAX_DELAY
    max_pending: int = DEFAULT_MAX_PENDING


def parse_ports(text: str) -> tuple[int, int]:
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        raise UsageError(f"--ports must be two port numbers like 500,4500, not {text!r}") from None
    if len(parts) != 2 or not all(0 < p < 65536 for p in parts) or parts[0] == parts[1]:
        raise UsageError(f"--ports must be two different port numbers like 500,4500, not {text!r}")
    return parts[0], parts[1]


def _positive(name: str, value: float, *, least: float = 0.0, whole: bool = False) -> float:
    """A finite number above 0, or at least ``least`` when given (a bucket must hold one probe)."""
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value >= least if least else value > 0)
    if not ok or (whole and value != int(value)):
        need = f"at least {least:g}" if least else "above 0"
        raise UsageError(f"{name} must be a finite number {need}, not {value!r}")
    return float(value)


def validate(args: argparse.Namespace) -> Options:
    """Check every option before anything is bound; a bad one is a UsageError (exit 2)."""
    import ipaddress

    ports = parse_ports(args.ports)
    addresses: list[str] = list(args.bind) or ["0.0.0.0", "::"]
    for a in addresses:
        try:
            ipaddress.ip_address(a)
        except ValueError:
            raise UsageError(f"--bind needs an IP address, not {a!r}") from None
    rate = _positive("--rate", args.rate)
    burst = _positive("--burst", args.burst, least=1.0)
    global_rate = _positive("--global-rate", args.global_rate)
    max_sources = int(_positive("--max-sources", args.max_sources, least=1.0, whole=True))
    max_delay = _positive("--max-delay", getattr(args, "max_delay", DEFAULT_MAX_DELAY))
    if max_delay > DEFAULT_MAX_DELAY:
        raise UsageError(f"--max-delay must be at most {DEFAULT_MAX_DELAY:g} seconds (the protocol's cap)")
    max_pending = int(_positive("--max-pending", getattr(args, "max_pending", DEFAULT_MAX_PENDING), least=1.0,
                                whole=True))
    if not args.user:
        raise UsageError("--user needs a user name")
    return Options(tuple(addresses), ports, not args.no_esp, args.user, rate, burst, global_rate, max_sources,
                   args.log, bool(args.verbose), max_delay, max_pending)

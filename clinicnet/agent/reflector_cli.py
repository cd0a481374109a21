"""Options of ``clinicnet reflector``, kept apart from the server so that building
the CLI parser (every ``clinicnet`` start) imports nothing but argparse."""

from __future__ import annotations

import argparse

DEFAULT_PORTS = "500,4500"
DEFAULT_USER = "nobody"
DEFAULT_RATE = 128.0
DEFAULT_BURST = 256.0
DEFAULT_MAX_SOURCES = 4096
DEFAULT_GLOBAL_RATE = 20000.0


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
    p.add_argument("--log", metavar="FILE", help="append JSON-lines logs here instead of stderr")
    p.add_argument("--verbose", action="store_true", help="log every answered probe (rate-limited like replies)")

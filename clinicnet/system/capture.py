"""What capturing packets needs on this OS: the tool, the interfaces, how to stop it.

The support bundle's capture (``clinicnet.bundle.capture``) runs an external
tool; which one a PC has, which interface names it takes and how it is told to
flush and stop differ between Linux (tcpdump on the "any" pseudo-interface,
SIGINT) and Windows (dumpcap through Npcap on named adapters, CTRL_BREAK in a
process group of its own). The platform module chosen in
:mod:`clinicnet.system` answers.
"""

from __future__ import annotations

import subprocess
from typing import Any

from clinicnet.system import _impl

__all__ = ["interfaces", "interrupt", "needs_raw_sockets", "popen_options", "tools"]


def tools() -> tuple[str, ...]:
    """Capture programs to look for, best first (scapy is the fallback of last resort)."""
    return tuple(_impl.CAPTURE_TOOLS)


def needs_raw_sockets() -> bool:
    """Whether capturing needs what :func:`clinicnet.system.raw_sockets_available` checks (Npcap)."""
    return bool(_impl.CAPTURE_NEEDS_RAW_SOCKETS)


def interfaces() -> list[str]:
    """The interface names to capture on."""
    return _impl.capture_interfaces()


def popen_options() -> dict[str, Any]:
    """Extra ``subprocess.Popen`` arguments the tool needs to be stoppable later."""
    return _impl.capture_popen_options()


def interrupt(proc: subprocess.Popen[bytes]) -> None:
    """Ask the tool to flush its file and exit."""
    _impl.capture_interrupt(proc)

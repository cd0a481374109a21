"""Network lab for clinicnet's tests: a clinic network made of Linux network namespaces.

Public API (others build on it; keep it stable)::

    from tests.lab import Lab, LabOptions, addresses

    with Lab(LabOptions(nat_layers=2, blocks=("udp dport 500",))) as lab:
        report = lab.diagnose()
        lab.run("pc", ["ping", "-c1", "-W1", addresses.GATEWAY_V4])

Requires root, iproute2, nftables and dnsmasq; see ``lab_available()``.
"""

from __future__ import annotations

from . import addresses
from .harness import (
    DIAGNOSE_OK_CODES,
    DNS_MODES,
    REPO_ROOT,
    Lab,
    LabCommandError,
    LabError,
    LabOptions,
    make_plan,
    teardown_all,
    topology_roles,
)
from .netns import RUN_PREFIX, lab_available, list_namespaces, sweep_stale

__all__ = [
    "DIAGNOSE_OK_CODES",
    "DNS_MODES",
    "REPO_ROOT",
    "RUN_PREFIX",
    "Lab",
    "LabCommandError",
    "LabError",
    "LabOptions",
    "addresses",
    "lab_available",
    "list_namespaces",
    "make_plan",
    "sweep_stale",
    "teardown_all",
    "topology_roles",
]

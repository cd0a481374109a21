"""Run ``clinicnet diagnose`` on the clinic PC of a throw-away lab network.

The lab (network namespaces, NAT, DNS, web server, strongSwan as the VPN gateway
and the clinicnet reflector beside it)
exists only on this machine, so the demo never sends a packet anywhere else.
Reports are written to ``out/`` (HTML, JSON, Markdown) and the terminal report is
printed. ``--scenario`` picks a network to diagnose.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lab import Lab, LabOptions  # noqa: E402
from tests.lab import addresses as A  # noqa: E402
from tests.lab.strongswan import start_charon  # noqa: E402
from tests.probes.reflector_lab import start_reflector_beside_gateway  # noqa: E402

SCENARIOS: dict[str, LabOptions] = {
    "single-nat": LabOptions(nat_layers=1),
    "no-nat": LabOptions(nat_layers=0),
    "double-nat": LabOptions(nat_layers=2),
    "cgn": LabOptions(nat_layers=1, cgn=True),
    "ipv6-only": LabOptions(ipv4=False, ipv6=True),
    "internet-down": LabOptions(internet_down=True),
    "dns-broken": LabOptions(dns="down"),
    "vpn-up": LabOptions(vpn_up=True),
    "udp500-blocked": LabOptions(blocks=("udp dport 500",)),
    "udp4500-blocked": LabOptions(blocks=("udp dport 4500",)),
    "esp-blocked-no-nat": LabOptions(nat_layers=0, blocks=("meta l4proto esp",)),
    "random-ports": LabOptions(nat_random_ports=True),
    "ds-lite": LabOptions(dslite=True),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), default="single-nat")
    ap.add_argument("--lang", choices=("ja", "en"), default="ja")
    ap.add_argument("--out", default=str(ROOT / "out"))
    ap.add_argument("--no-reflector", action="store_true", help="diagnose without the reflector's probes")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"report-{args.scenario}"
    with Lab(SCENARIOS[args.scenario]) as lab:
        start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
        extra: list[str] = []
        if not args.no_reflector:
            start_reflector_beside_gateway(lab)
            extra = ["--reflector", A.REFLECTOR_V4]
        argv = [a for a in lab.diagnose_argv(extra, timeout=3) if a not in ("--quiet",)]
        # replace "--json -" by files
        i = argv.index("--json")
        argv[i + 1] = f"{stem}.json"
        argv += ["--html", f"{stem}.html", "--markdown", f"{stem}.md", "--lang", args.lang]
        print(f"lab scenario {args.scenario}: clinicnet {' '.join(argv)}\n", flush=True)
        proc = subprocess.run(
            ["ip", "netns", "exec", lab.ns("pc"), sys.executable, "-m", "clinicnet", *argv],
            cwd=ROOT,
            check=False,
        )
    print(f"\nexit code {proc.returncode}; reports: {stem}.html {stem}.json {stem}.md")
    return 0 if proc.returncode in (0, 1, 3, 4) else proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())

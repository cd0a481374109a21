"""IKE probe speed against ike-scan, and the import cost of the IKE modules (needs root).

In one lab (single NAT, strongSwan on the gateway) this times, median of N:

- ``clinicnet ike GW`` as a process (what a technician runs), and ``python -c pass``
  started the same way, so the interpreter's own start-up can be told apart;
- the probe itself in-process (``duration_s`` of the result: sockets, DH values,
  one IKEv2 round trip per port, parsing);
- ``ike-scan --ikev2 --sport=0 GW``, the reference C tool, for one IKEv2 exchange;

and prints the ratios. Then ``python -X importtime`` of the IKE modules: the probe
must import fast and must never pull in scapy (or cryptography, which it only loads
when an elliptic-curve key share is built).

Measured, never asserted. Run: ``sudo python bench/bench_ike.py [-n 20]``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lab import Lab, LabOptions  # noqa: E402
from tests.lab import addresses as A  # noqa: E402
from tests.lab.harness import REPO_ROOT  # noqa: E402
from tests.lab.strongswan import start_charon  # noqa: E402

MODULES = ("clinicnet.wire", "clinicnet.wire.ikev2", "clinicnet.wire.ikev1", "clinicnet.probes.ike", "clinicnet.probes.ike.exchange")


def wall(lab: Lab, argv: list[str], n: int) -> tuple[float, list[str]]:
    samples, outputs = [], []
    env = {"PYTHONPATH": str(REPO_ROOT)}
    for _ in range(n):
        t0 = time.perf_counter()
        proc = lab.run("pc", argv, check=False, timeout=60, env=env, cwd=REPO_ROOT)
        samples.append(time.perf_counter() - t0)
        outputs.append(proc.stdout)
    return statistics.median(samples), outputs


def import_times() -> dict[str, tuple[float, bool, bool]]:
    """Cumulative import time (ms) of each module in a fresh interpreter, and whether
    scapy / cryptography got imported along."""
    out = {}
    for mod in MODULES:
        best = None
        for _ in range(5):
            proc = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", f"import {mod}"],
                capture_output=True,
                text=True,
                cwd=REPO_ROOT,
                check=True,
            )
            cumulative = 0.0
            for line in proc.stderr.splitlines():
                m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
                if m and m.group(3) == mod:
                    cumulative = int(m.group(1)) / 1000
            best = cumulative if best is None else min(best, cumulative)
        out[mod] = (best or 0.0, "scapy" in proc.stderr, "cryptography" in proc.stderr)
    return out




def main() -> None:
    from _common import with_bytecode  # bench/ is the script's directory

    with_bytecode()
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    args = ap.parse_args()
    py = sys.executable
    gw = A.GATEWAY_V4
    with Lab(LabOptions(nat_layers=1)) as lab:
        start_charon(lab, lab.tmpdir, gw)
        base, _ = wall(lab, [py, "-c", "pass"], args.n)
        cli, outs = wall(lab, [py, "-m", "clinicnet", "ike", gw, "--json", "--timeout", "3"], args.n)
        probe = statistics.median(json.loads(o)["duration_s"] for o in outs if o.strip())
        answered = sum(json.loads(o)["values"]["targets"][0]["udp500"] == "answered" for o in outs if o.strip())
        scan, scans = wall(lab, ["ike-scan", "--ikev2", "--sport=0", gw], args.n)
        scan_ok = sum("0 returned handshake; 0 returned notify" not in s for s in scans)
    print(f"IKE probe vs ike-scan in the lab, median of {args.n} runs (single NAT, strongSwan 5.9)")
    print(f"  python -c pass (process)                    {base * 1000:8.1f} ms")
    print(f"  clinicnet ike GW --json (process)           {cli * 1000:8.1f} ms   answered {answered}/{args.n}")
    print(
        f"  clinicnet ike probe itself (in-process)     {probe * 1000:8.1f} ms   (IKEv2 on 500 and 4500, + sport 500)"
    )
    print(f"  ike-scan --ikev2 --sport=0 GW (process)     {scan * 1000:8.1f} ms   answered {scan_ok}/{args.n}")
    print(f"  ratio clinicnet process / ike-scan          {cli / scan:8.2f}x")
    print(f"  ratio (clinicnet - python start) / ike-scan {(cli - base) / scan:8.2f}x")
    print(f"  ratio probe in-process / ike-scan           {probe / scan:8.2f}x")
    print("import time (python -X importtime, cumulative, best of 5)")
    for mod, (ms, scapy, crypto) in import_times().items():
        print(
            f"  {mod:<24} {ms:7.1f} ms   scapy: {'YES' if scapy else 'no'}   cryptography: {'YES' if crypto else 'no'}"
        )


if __name__ == "__main__":
    main()

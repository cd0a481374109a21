"""Wall time of a full ``diagnose`` in the lab, as ratios (needs root).

Prints, in one run:
- ``diagnose`` in the all-good lab scenario (single NAT, strongSwan gateway) against
  a bare ``python -c pass`` started the same way in the same namespace (goal <= 10x,
  issue 11), once with the routers' ICMP rate limit refilled between runs (a first run)
  and once back to back (the trace must not wait for hops the rate limit silenced);
- ``diagnose`` in a scenario where every check is silent (the ISP drops everything)
  against the probe timeout (goal <= 1.2x: probes run side by side, silence is
  waited for once).
Measured, never asserted. Run: ``sudo python bench/bench_diagnose.py [-n 5] [--timeout 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lab import Lab, LabOptions  # noqa: E402
from tests.lab import addresses as A  # noqa: E402
from tests.lab.strongswan import start_charon  # noqa: E402

#: Linux routers rate-limit ICMP per peer (a burst of 6, then 1/s); one diagnose uses
#: about 3 (trace hop, SSDP and NAT-PMP port-unreachable). Back-to-back runs would
#: measure the rate limit, so let the bucket refill between runs, as between real uses.
REST_S = 3.5


def median_wall(lab: Lab, argv: list[str], n: int, rest: float = 0.0, warmup: int = 0) -> float:
    for _ in range(warmup):  # untimed: e.g. to spend the routers' ICMP burst first
        lab.run("pc", argv, check=False, timeout=120)
    samples = []
    for i in range(n):
        if i and rest:
            time.sleep(rest)
        t0 = time.perf_counter()
        lab.run("pc", argv, check=False, timeout=120)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)




def main() -> None:
    from _common import with_bytecode  # bench/ is the script's directory

    with_bytecode()
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=3.0)
    args = ap.parse_args()
    py = sys.executable
    with Lab(LabOptions(nat_layers=1)) as lab:
        start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
        base = median_wall(lab, [py, "-c", "pass"], args.n)
        argv = [py, "-m", "clinicnet", *lab.diagnose_argv(timeout=args.timeout)]
        good = median_wall(lab, argv, args.n, rest=REST_S)
        # three untimed runs first spend the router's ICMP burst (6), as a technician's
        # third or fourth run in a row would
        b2b = median_wall(lab, argv, args.n, warmup=3)
    with Lab(LabOptions(nat_layers=1, internet_down=True)) as lab:
        argv = [py, "-m", "clinicnet", *lab.diagnose_argv(timeout=args.timeout)]
        silent = median_wall(lab, argv, args.n)
    print(f"diagnose wall time, median of {args.n} runs (probe timeout {args.timeout:g} s)")
    print(f"  python -c pass (in the lab PC)     {base * 1000:8.1f} ms")
    print(f"  diagnose, all-good, first run      {good * 1000:8.1f} ms   {good / base:5.2f}x python   (goal <= 10x)")
    print(f"  diagnose, all-good, back to back   {b2b * 1000:8.1f} ms   {b2b / base:5.2f}x python   (goal <= 10x)")
    print(f"  diagnose, everything silent        {silent * 1000:8.1f} ms   {silent / args.timeout:5.2f}x timeout  (goal <= 1.2x)")


if __name__ == "__main__":
    main()

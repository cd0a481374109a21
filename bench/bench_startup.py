"""Cold start of ``clinicnet --help`` and ``--version`` against a bare ``python -c pass``.

Prints ratios (goal: --help <= 2x, issue 11). Measured, never asserted: speed depends on
the machine; tests check behaviour. Run: ``python bench/bench_startup.py [-n 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def timed(argv: list[str], n: int) -> float:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)




def main() -> None:
    from _common import with_bytecode  # bench/ is the script's directory

    with_bytecode()
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    n = ap.parse_args().n
    py = sys.executable
    base = timed([py, "-c", "pass"], n)
    rows = [
        ("python -c pass", base),
        ("clinicnet --help", timed([py, "-m", "clinicnet", "--help"], n)),
        ("clinicnet --version", timed([py, "-m", "clinicnet", "--version"], n)),
        ("clinicnet findings", timed([py, "-m", "clinicnet", "findings"], n)),
    ]
    print(f"cold start, median of {n} runs")
    for name, t in rows:
        print(f"  {name:<22} {t * 1000:7.1f} ms   {t / base:5.2f}x")
    print("goal: clinicnet --help <= 2x python -c pass")


if __name__ == "__main__":
    main()

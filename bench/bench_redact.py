"""``Redactor.text`` on growing texts full of addresses: linear, and how much faster than before.

The baseline is the previous algorithm, kept here only: before each candidate
address it searched the whole text before it for a version keyword or a hex-run
tail, so a text of many addresses took quadratic time (64 KB: 13.7 s). Both
versions must give the same masks byte for byte; this bench checks that too.
Prints times and ratios, asserts nothing about speed. Run: ``python bench/bench_redact.py``.
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clinicnet.reports import redact as R  # noqa: E402


class QuadraticRedactor(R.Redactor):
    """The pre-fix look-behind checks: each one searches from the start of the text."""

    def _mac_sub(self, m: re.Match[str]) -> str:
        if R._HEX_RUN_BEFORE_RE.search(m.string, 0, m.start()):
            return m.group(0)
        return self.mask_mac(m.group(0))

    def _v4_sub(self, m: re.Match[str]) -> str:
        if R._VERSION_BEFORE_RE.search(m.string, 0, m.start()):
            return m.group(0)
        return super()._v4_sub(m)

    def _v6_sub(self, m: re.Match[str]) -> str:
        if R._HEX_RUN_BEFORE_RE.search(m.string, 0, m.start()):
            return m.group(0)
        return super()._v6_sub(m)


def addresses(size: int, seed: int = 1) -> str:
    """A log-like text of IPv4, IPv6, MAC addresses, names and versions, ``size`` characters."""
    rnd = random.Random(seed)
    parts: list[str] = []
    n = 0
    while n < size:
        k = rnd.randrange(6)
        if k == 0:
            p = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)}"
        elif k == 1:
            p = f"2001:db8::{rnd.randrange(65536):x}"
        elif k == 2:
            p = ":".join(f"{rnd.randrange(256):02x}" for _ in range(6))
        elif k == 3:
            p = f"host{rnd.randrange(999)}.example.jp"
        elif k == 4:
            p = f"version: 1.2.{rnd.randrange(9)}.{rnd.randrange(9)}"
        else:
            p = f"203.0.113.{rnd.randrange(256)}/24 via fe80::{rnd.randrange(65536):x}%eth0"
        parts.append(p)
        n += len(p) + 1
    return " ".join(parts)[:size]


def timed(cls: type[R.Redactor], text: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = cls().text(text)
    return time.perf_counter() - t0, out


def main() -> None:
    print("Redactor.text, seconds (old = whole-prefix look-behind search, kept here as the baseline)")
    print(f"  {'size':>8} {'new':>9} {'old':>9} {'old/new':>8}  new s/MB")
    for size in (4096, 16384, 65536):
        text = addresses(size)
        new_t, new_out = timed(R.Redactor, text)
        old_t, old_out = timed(QuadraticRedactor, text)
        assert new_out == old_out, "masks differ from the old algorithm"
        print(f"  {size:>8} {new_t:9.3f} {old_t:9.3f} {old_t / new_t:8.1f}  {new_t / size * 2**20:8.2f}")
    small, big = addresses(2**16), addresses(2**20)
    t_small, _ = timed(R.Redactor, small)
    t_big, _ = timed(R.Redactor, big)
    print(f"  scaling 64 KB -> 1 MB (16x the text): {t_big / t_small:.1f}x the time (linear: ~16, quadratic: ~256)")


if __name__ == "__main__":
    main()

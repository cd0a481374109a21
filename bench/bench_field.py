"""How often ``clinicnet diagnose`` is right on field-like lines (issue 10), in the lab (needs root).

Runs ``diagnose`` N times (default 10) in each scenario of ``tests/lab/field_scenarios.py``
(IKEv1-only gateway with and without NAT, a gateway that ignores IKEv2, 20 % loss each way,
400 ms round trip, ICMP filtered, and the clean line as control) and prints per scenario: how
many runs were entirely right, the verdicts, every finding with the number of runs it
appeared in, the false alarms (findings the line does not justify) and the missing findings,
and the round trips clinicnet reported (IKE and reflector, min/median/max) against the
configured delay.  Measured, never asserted: the "before" and "after" figures of issue 10 are
two runs of this script.

Run: ``sudo python bench/bench_field.py [-n 10] [--scenario lossy-20 ...] [--timeout 5]
[--json runs.json]``.  ``--loss 30,40`` and ``--delay 800,1200`` add variants of the lossy and
the slow row (same expectations, the RTT band moved with the delay) to find what the defaults
tolerate.  One lab per scenario; ``--rest`` seconds between runs let the routers'
ICMP rate limit refill, as between real uses (bench_diagnose.py does the same).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lab import Lab  # noqa: E402
from tests.lab.field_scenarios import (  # noqa: E402
    SCENARIOS,
    FieldScenario,
    finding_ids,
    ike_rtts,
    reflector_rtts,
    summary_ms,
)

#: the CLI's own default ``--timeout``: the issue asks for right answers with the defaults
CLI_DEFAULT_TIMEOUT = 5.0
REST_S = 3.5


def run_scenario(scenario: FieldScenario, n: int, timeout: float, rest: float) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    with Lab(scenario.options) as lab:
        for i in range(n):
            if i and rest:
                time.sleep(rest)
            t0 = time.perf_counter()
            try:
                report = lab.diagnose(timeout=timeout, run_timeout=timeout * 20 + 60)
            except AssertionError as exc:  # no report at all: counted, shown, never hidden
                runs.append({"error": str(exc)[:2000], "wall_s": time.perf_counter() - t0})
                continue
            runs.append({
                "wall_s": time.perf_counter() - t0,
                "verdict": report.get("verdict"),
                "findings": sorted(finding_ids(report)),
                "problems": scenario.check(report),
                "ike_rtt_ms": ike_rtts(report),
                "reflector_rtt_ms": reflector_rtts(report),
                "exit": lab.last_diagnose.returncode if lab.last_diagnose else None,
            })
            print(f"  [{scenario.name} {i + 1}/{n}] {runs[-1]['verdict']} {runs[-1]['problems'] or 'right'}",
                  file=sys.stderr, flush=True)
    return runs


def report_scenario(scenario: FieldScenario, runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    right = sum(1 for r in ok if not r["problems"])
    verdicts = Counter(r["verdict"] for r in ok)
    findings = Counter(fid for r in ok for fid in r["findings"])
    false_alarms = Counter(fid for r in ok for fid in r["findings"] if fid in scenario.must_not)
    missing = Counter(fid for r in ok for fid in scenario.must if fid not in r["findings"])
    ike = [x for r in ok for x in r["ike_rtt_ms"]]
    refl = [x for r in ok for x in r["reflector_rtt_ms"]]
    opts = scenario.options
    print(f"\n== {scenario.name}: {scenario.why}")
    print(f"   right in {right}/{len(runs)} runs" + (f"  ({len(runs) - len(ok)} without a report)" if len(ok) < len(runs) else ""))
    print(f"   verdicts: {dict(verdicts)}  (expected {scenario.verdict})")
    print(f"   findings (runs): {dict(sorted(findings.items()))}")
    print(f"   false alarms (runs): {dict(sorted(false_alarms.items())) or '-'}   "
          f"missing (runs): {dict(sorted(missing.items())) or '-'}")
    print(f"   IKE RTT ms min/median/max: {summary_ms(ike)}   reflector RTT: {summary_ms(refl)}   "
          f"configured delay: {opts.delay_ms} ms, loss: {opts.loss_percent} % each way")
    walls = [r["wall_s"] for r in runs]
    print(f"   diagnose wall time s median/max: {statistics.median(walls):.1f}/{max(walls):.1f}")
    for r in runs:
        if "error" in r:
            print(f"   no report: {r['error'].splitlines()[0]}")
    return {
        "scenario": scenario.name,
        "runs": len(runs),
        "right": right,
        "verdicts": dict(verdicts),
        "false_alarm_runs": sum(1 for r in ok if set(r["findings"]) & scenario.must_not),
        "false_alarms": dict(false_alarms),
        "missing": dict(missing),
        "ike_rtt_ms": summary_ms(ike),
        "reflector_rtt_ms": summary_ms(refl),
    }


def variants(loss: str, delay: str) -> list[FieldScenario]:
    """The lossy and slow rows again with other rates: what the default ``--timeout`` tolerates."""
    from tests.lab.field_scenarios import BY_NAME

    out = []
    for pct in (int(x) for x in loss.split(",") if x):
        base = BY_NAME["lossy-20"]
        out.append(dataclasses.replace(base, name=f"lossy-{pct}", why=f"{pct} % lost each way, nothing blocked",
                                       options=dataclasses.replace(base.options, loss_percent=pct)))
    for ms in (int(x) for x in delay.split(",") if x):
        base = BY_NAME["slow-400ms"]
        out.append(dataclasses.replace(
            base, name=f"slow-{ms}ms", why=f"{ms} ms round trip, nothing blocked",
            options=dataclasses.replace(base.options, delay_ms=ms),
            ike_rtt_ms=(float(ms), ms + 150.0), reflector_rtt_ms=(float(ms), ms + 50.0)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10, help="diagnose runs per scenario (default 10)")
    ap.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS],
                    help="only these scenarios (repeatable; default all)")
    ap.add_argument("--timeout", type=float, default=CLI_DEFAULT_TIMEOUT,
                    help=f"diagnose --timeout (default {CLI_DEFAULT_TIMEOUT:g}, the CLI's default)")
    ap.add_argument("--rest", type=float, default=REST_S, help="seconds between runs")
    ap.add_argument("--json", type=Path, help="write every run's data here")
    ap.add_argument("--loss", default="", help="extra lossy rows: loss percents, comma separated")
    ap.add_argument("--delay", default="", help="extra slow rows: round-trip delays in ms, comma separated")
    args = ap.parse_args()
    # --loss/--delay alone run only their variants
    everything = not args.scenario and not (args.loss or args.delay)
    chosen = [s for s in SCENARIOS if everything or s.name in (args.scenario or ())]
    chosen += variants(args.loss, args.delay)
    summaries, raw = [], {}
    for scenario in chosen:
        runs = run_scenario(scenario, args.n, args.timeout, args.rest)
        raw[scenario.name] = runs
        summaries.append(report_scenario(scenario, runs))
    print(f"\nsummary (diagnose --timeout {args.timeout:g}, {args.n} runs each)")
    print(f"  {'scenario':20} {'right':>7} {'false-alarm runs':>17}  {'missing':30} IKE RTT ms")
    for s in summaries:
        print(f"  {s['scenario']:20} {s['right']:>3}/{s['runs']:<3} {s['false_alarm_runs']:>17}  "
              f"{json.dumps(s['missing']) if s['missing'] else '-':30} {s['ike_rtt_ms']}")
    if args.json:
        args.json.write_text(json.dumps({"summaries": summaries, "runs": raw}, indent=1))


if __name__ == "__main__":
    main()

"""The runner: side by side, bounded, and nothing lost."""

from __future__ import annotations

import threading
import time

from clinicnet.agent.runner import run_probes
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch

SPECS = [ProbeSpec(n, 0, Text(n, n), dict, module=f"fake.{n}") for n in ("fast", "slow", "crash", "hang")]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def started(self, spec):
        with self.lock:
            self.events.append(("start", spec.name))

    def finished(self, spec, result):
        with self.lock:
            self.events.append(("done", spec.name))


def fake_loader(spec):
    def fast(ctx):
        return Stopwatch("fast").result(Status.OK, "fine")

    def slow(ctx):
        time.sleep(0.3)
        return Stopwatch("slow").result(Status.FAILED, "measured a problem")

    def crash(ctx):
        raise ValueError("boom")

    def hang(ctx):
        time.sleep(30)
        return Stopwatch("hang").result(Status.OK, "never")

    return {"fast": fast, "slow": slow, "crash": crash, "hang": hang}[spec.name]


def test_results_in_order_crash_and_hang_become_errors():
    rec = Recorder()
    t0 = time.monotonic()
    results = run_probes(SPECS, ProbeContext(), timeout=0.5, observer=rec, loader=fake_loader)
    wall = time.monotonic() - t0
    assert [r.name for r in results] == ["fast", "slow", "crash", "hang"]
    by = {r.name: r for r in results}
    assert by["fast"].status is Status.OK
    assert by["slow"].status is Status.FAILED
    assert by["crash"].status is Status.ERROR and "ValueError: boom" in by["crash"].reason
    assert by["hang"].status is Status.ERROR and "abandoned" in by["hang"].reason
    # every probe reported start and end exactly once
    assert sorted(rec.events) == sorted([("start", n) for n in by] + [("done", n) for n in by])
    # the hanging probe was waited for once, not forever (generous bound: behaviour, not speed)
    assert wall < 10


def test_probes_get_the_deadline_and_run_concurrently():
    seen: list[float] = []
    barrier = threading.Barrier(3, timeout=5)

    def loader(spec):
        def p(ctx: ProbeContext) -> ProbeResult:
            seen.append(ctx.remaining())
            barrier.wait()  # only passes if all three run at the same time
            return Stopwatch(spec.name).result(Status.OK, "ok")
        return p

    specs = [ProbeSpec(n, n, n, n) for n in ("a", "b", "c")]
    results = run_probes(specs, ProbeContext(), timeout=5, loader=loader)
    assert all(r.status is Status.OK for r in results)
    assert all(0 < s <= 5 for s in seen)


def test_a_wrongly_named_result_is_renamed_to_its_spec():
    def loader(spec):
        return lambda ctx: ProbeResult("other", Status.OK)

    (r,) = run_probes([ProbeSpec("mine", "m", "m", "m")], ProbeContext(), timeout=1, loader=loader)
    assert r.name == "mine"

"""The runner: side by side, bounded, and nothing lost."""

from __future__ import annotations

import threading
import time

import pytest

from clinicnet.agent.runner import run_probes
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes.interface import COMMON_REASONS, ProbeContext, ProbeSpec, Stopwatch

REASONS = {"fine": Text("問題なし", "fine"), "problem": Text("問題あり", "measured a problem")}
SPECS = [
    ProbeSpec(n, 0, Text(n, n), dict, reasons=REASONS, module=f"fake.{n}") for n in ("fast", "slow", "crash", "hang")
]
BY_NAME = {s.name: s for s in SPECS}


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
        return Stopwatch(BY_NAME["fast"]).result(Status.OK, "fine")

    def slow(ctx):
        time.sleep(0.3)
        return Stopwatch(BY_NAME["slow"]).result(Status.FAILED, "problem")

    def crash(ctx):
        raise ValueError("boom")

    def hang(ctx):
        time.sleep(30)
        return Stopwatch(BY_NAME["hang"]).result(Status.OK, "fine")

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
    # the runner's own results carry the common codes, so a report renders them in Japanese too
    assert by["crash"].reason_code == "crashed" and "ValueError: boom" in by["crash"].reason_params["error"]
    assert by["hang"].reason_code == "deadline" and by["hang"].reason_params == {"timeout": "0.5"}
    assert by["fast"].reason == "fine" and by["fast"].reason_code == "fine"
    for code in ("crashed", "deadline"):
        assert code in COMMON_REASONS
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
            return Stopwatch(spec).result(Status.OK, "fine")
        return p

    specs = [ProbeSpec(n, 0, Text(n, n), dict, reasons=REASONS) for n in ("a", "b", "c")]
    results = run_probes(specs, ProbeContext(), timeout=5, loader=loader)
    assert all(r.status is Status.OK for r in results)
    assert all(0 < s <= 5 for s in seen)


def test_a_wrongly_named_result_is_renamed_to_its_spec():
    def loader(spec):
        return lambda ctx: ProbeResult("other", Status.OK)

    (r,) = run_probes([ProbeSpec("mine", 0, Text("m", "m"), dict)], ProbeContext(), timeout=1, loader=loader)
    assert r.name == "mine"


def test_a_result_code_needs_its_text_and_fields():
    sw = Stopwatch(SPECS[0])
    with pytest.raises(KeyError):
        sw.result(Status.OK, "no_such_code")
    with pytest.raises(KeyError):
        sw.result(Status.SKIPPED, "no_raw_sockets")  # its English text needs {detail}
    r = sw.result(Status.SKIPPED, "no_raw_sockets", None, detail="raw sockets need root")
    assert r.reason.endswith("raw sockets need root") and r.reason_params == {"detail": "raw sockets need root"}


def test_the_progress_line_says_the_reason_in_the_users_language():
    import io

    from clinicnet.agent.progress import PlainProgress
    from clinicnet.probes import registry

    spec = registry.get("ike")
    result = Stopwatch(spec).result(Status.SKIPPED, "no_target", {"targets": []})
    for lang, title in (("ja", spec.title.ja), ("en", spec.title.en)):
        out = io.StringIO()
        PlainProgress(lang, out).finished(spec, result)
        line = out.getvalue()
        assert title in line and registry.reason(result, lang) in line
    assert "VPN 装置" in registry.reason(result, "ja") and result.reason not in registry.reason(result, "ja")


def test_the_live_table_shows_a_hostile_reason_as_text():
    """A measured string in a reason (a router's name, a DNS answer) is not rich markup."""
    import io

    from clinicnet.agent.progress import LiveProgress

    spec = SPECS[0]
    hostile = ProbeResult(spec.name, Status.FAILED, reason="router [/] says [bold red]hello[/bold red]")
    live = LiveProgress("ja", io.StringIO())
    live.started(spec)
    live.finished(spec, hostile)
    out = io.StringIO()
    from rich.console import Console

    Console(file=out, width=200).print(live._render())
    assert "router [/] says [bold red]hello[/bold red]" in out.getvalue()

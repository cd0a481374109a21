"""Runs probes side by side, each bounded in time, and never loses a result.

Each probe runs in its own daemon thread with its own deadline. The runner waits
for all of them up to the global deadline; a probe still running then is
abandoned and reported as ``error`` (its thread cannot be killed, but it cannot
hold up the report either). A probe that raises becomes ``error`` with the
exception as its reason. Silence is therefore waited for once, not per probe.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Protocol

from clinicnet.model import ProbeResult, Status
from clinicnet.probes import registry
from clinicnet.probes.interface import ProbeContext, ProbeSpec

#: time a probe gets after its own deadline to hand in what it has
GRACE_S = 0.75


class Observer(Protocol):
    def started(self, spec: ProbeSpec) -> None: ...
    def finished(self, spec: ProbeSpec, result: ProbeResult) -> None: ...


class NullObserver:
    def started(self, spec: ProbeSpec) -> None:
        pass

    def finished(self, spec: ProbeSpec, result: ProbeResult) -> None:
        pass


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _run_one(spec: ProbeSpec, ctx: ProbeContext, loader: Callable[[ProbeSpec], Callable[[ProbeContext], ProbeResult]]) -> ProbeResult:
    t0 = time.monotonic()
    started = _stamp()
    try:
        result = loader(spec)(ctx)
        if result.name != spec.name:
            result = dataclasses.replace(result, name=spec.name)
        return result
    except Exception as exc:  # noqa: BLE001 - a probe bug must not lose the report
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
        return ProbeResult(
            name=spec.name,
            status=Status.ERROR,
            reason=f"probe crashed: {type(exc).__name__}: {exc}{where}",
            values={},
            duration_s=time.monotonic() - t0,
            started_at=started,
        )


def run_probes(
    specs: Sequence[ProbeSpec],
    base: ProbeContext,
    *,
    timeout: float,
    observer: Observer | None = None,
    loader: Callable[[ProbeSpec], Callable[[ProbeContext], ProbeResult]] = registry.load,
) -> list[ProbeResult]:
    """Run ``specs`` concurrently; results come back in ``specs`` order."""
    obs = observer or NullObserver()
    start = time.monotonic()
    deadline = start + timeout
    global_deadline = deadline + GRACE_S
    results: dict[str, ProbeResult] = {}
    lock = threading.Lock()
    done = threading.Condition(lock)

    def worker(spec: ProbeSpec) -> None:
        ctx = dataclasses.replace(base, deadline=deadline, timeout=timeout)
        result = _run_one(spec, ctx, loader)
        with lock:
            if spec.name in results:  # already declared abandoned
                return
            results[spec.name] = result
            done.notify_all()
        obs.finished(spec, result)

    for spec in specs:
        obs.started(spec)
        t = threading.Thread(target=worker, args=(spec,), name=f"probe-{spec.name}", daemon=True)
        t.start()

    with lock:
        while len(results) < len(specs):
            left = global_deadline - time.monotonic()
            if left <= 0:
                break
            done.wait(left)
        late = [s for s in specs if s.name not in results]
        for spec in late:
            results[spec.name] = ProbeResult(
                name=spec.name,
                status=Status.ERROR,
                reason=f"did not finish within {timeout:g} s and was abandoned",
                duration_s=time.monotonic() - start,
                started_at="",
            )
    for spec in late:
        obs.finished(spec, results[spec.name])
    return [results[s.name] for s in specs]

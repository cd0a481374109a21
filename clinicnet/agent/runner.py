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

from clinicnet.model import JSONValue, ProbeResult, Status
from clinicnet.probes import registry
from clinicnet.probes.interface import COMMON_REASONS, ProbeContext, ProbeSpec, format_reason

#: time a probe gets after its own deadline to hand in what it has (the process must end
#: within --timeout + 1 s: interpreter start, this grace and the report share that second)
GRACE_S = 0.5


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


def _runner_result(name: str, code: str, duration_s: float, started_at: str, **params: JSONValue) -> ProbeResult:
    """A result the runner writes for a probe that could not write its own (crash, deadline)."""
    return ProbeResult(
        name=name,
        status=Status.ERROR,
        reason=format_reason(COMMON_REASONS[code], params, "en") or code,
        duration_s=duration_s,
        started_at=started_at,
        reason_code=code,
        reason_params=params,
    )


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
        return _runner_result(
            spec.name, "crashed", time.monotonic() - t0, started, error=f"{type(exc).__name__}: {exc}", where=where
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
            results[spec.name] = _runner_result(spec.name, "deadline", time.monotonic() - start, "",
                                                 timeout=f"{timeout:g}")
    for spec in late:
        obs.finished(spec, results[spec.name])
    return [results[s.name] for s in specs]

"""Run a blocking call that cannot be cancelled (getaddrinfo) under a deadline.

The call runs in a daemon thread; if it overruns, it is abandoned (it finishes in
the background and its answer is dropped) so the probe can still report in time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None
    timed_out: bool = False


def call_with_deadline(fn: Callable[[], T], timeout: float) -> Outcome[T]:
    box: list[Outcome[T]] = []

    def target() -> None:
        try:
            box.append(Outcome(value=fn()))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller as data
            box.append(Outcome(error=exc))

    t = threading.Thread(target=target, daemon=True, name="clinicnet-deadline")
    t.start()
    t.join(max(0.0, timeout))
    if not box:
        return Outcome(timed_out=True)
    return box[0]

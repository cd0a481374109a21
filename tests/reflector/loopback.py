"""A reflector serving on 127.0.0.1 in a thread (ephemeral ports, no raw ESP): the one the
loopback tests of the server and of the probes that talk to it share."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from clinicnet.reflector.core import Core, JsonLog, Limits
from clinicnet.reflector.server import Reflector, open_udp


@contextmanager
def loopback_reflector(limits: Limits | None = None) -> Iterator[Reflector]:
    """Serve until the block ends; ``endpoints[0]`` is the IKE port, ``endpoints[1]`` NAT-T."""
    core = Core(limits or Limits(max_sources=64), JsonLog(io.StringIO()))
    eps = [open_udp("127.0.0.1", 0, False), open_udp("127.0.0.1", 0, True)]
    srv = Reflector(eps, core)
    t = threading.Thread(target=srv.serve, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.stop()
        t.join(5)
        srv.close()
    assert not t.is_alive()

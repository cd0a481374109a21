"""Run the IKE probe (with its source-port-500 attempt) and the NAT-mapping probe at the same
moment, ``--rounds`` times, and print per round who could use local UDP 500/4500 (JSON lines).

``python -m tests.probes.ports_race GATEWAY REFLECTOR [--rounds N]``, in a lab namespace: the
two used to race for the ports and the loser blamed "an IKE daemon or VPN client" (issue 9).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from clinicnet.probes import nat_mapping
from clinicnet.probes.ike import assemble
from clinicnet.probes.interface import ProbeContext


def one_round(gateway: str, reflector: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    ike_ctx = ProbeContext(targets=(gateway,), timeout=timeout, privileged=True, deadline=deadline)
    nat_ctx = ProbeContext(reflectors=(reflector,), timeout=timeout, privileged=True, deadline=deadline)
    out: dict[str, Any] = {}
    start = threading.Barrier(2)

    def ike() -> None:
        start.wait()
        out["ike"] = assemble.run(ike_ctx).values

    def nat() -> None:
        start.wait()
        out["nat"] = nat_mapping.probe(nat_ctx).values

    threads = [threading.Thread(target=ike), threading.Thread(target=nat)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fixed = [a for a in out["ike"]["targets"][0]["attempts"] if a["fixed_source_port"]]
    return {
        "ike_source_port_500": out["ike"].get("source_port_500"),
        "ike_fixed": [(a["outcome"], a["detail"]) for a in fixed],
        "nat_bind": out["nat"].get("bind"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gateway")
    ap.add_argument("reflector")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    for _ in range(args.rounds):
        print(json.dumps(one_round(args.gateway, args.reflector, args.timeout)), flush=True)


if __name__ == "__main__":
    main()

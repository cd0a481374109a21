"""``python -m clinicnet.probes.ike HOST...``: the probe alone (lab tests, debugging)."""

from __future__ import annotations

import time

from clinicnet.model import Status
from clinicnet.probes.ike.assemble import run
from clinicnet.probes.interface import ProbeContext
from clinicnet.reports.render_ike import render


def _main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m clinicnet.probes.ike")
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--privileged", action="store_true", help="also probe from source port 500")
    parser.add_argument("--ikev1-always", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--lang", default="en")
    args = parser.parse_args(argv)
    ctx = ProbeContext(
        targets=tuple(args.targets),
        timeout=args.timeout,
        privileged=args.privileged,
        deadline=time.monotonic() + args.timeout,
    )
    result = run(ctx, ikev1_always=args.ikev1_always)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(render(result, args.lang))
    return 0 if result.status is Status.OK else 1


if __name__ == "__main__":
    raise SystemExit(_main())

"""ESP (IP protocol 50) through winsock raw sockets, as an administrator without Npcap, under Wine.

Microsoft's "TCP/IP Raw Sockets" allows an administrator a SOCK_RAW socket for any protocol (the
limits it lists concern TCP data and spoofed UDP sources), so ``system.raw_sockets_available``
tries a protocol-50 socket when Npcap is missing. Wine 8 has no raw protocol-50 sockets; this
test pins what Wine does, so that an ESP probe under Wine is never reported as a blocked network
(the product must say "not measured", never "esp.blocked", when the socket cannot be had).
Whether real Windows delivers inbound ESP to the socket stays on the "only real Windows can
confirm" list in docs/windows.md.
"""

from __future__ import annotations

import json

from tests.lab import addresses as A
from tests.lab.harness import REPO_ROOT
from tests.probes.reflector_lab import start_reflector
from tests.windows import wine as W

SCRIPT = r"""
import json, socket, sys, time
out = {}
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
    out["raw50"] = "opened"
    s.close()
except OSError as exc:
    out["raw50"] = f"{type(exc).__name__}: {getattr(exc, 'winerror', None) or exc.errno}"
from clinicnet import system
out["admin"] = system.is_admin()
out["raw"] = list(system.raw_sockets_available())
from clinicnet.probes import esp
from clinicnet.probes.interface import ProbeContext
ok, why = system.raw_sockets_available()
ctx = ProbeContext(reflectors=(sys.argv[1],), privileged=out["admin"], raw_sockets=ok, raw_sockets_reason=why,
                   deadline=time.monotonic() + 4)
r = esp.probe(ctx).to_json()
out["esp"] = {"status": r["status"], "reason": r["reason"],
              "raw": [e.get("esp") for e in r["values"]["reflectors"]]}
print(json.dumps(out))
"""


def test_raw_esp_under_wine_is_unmeasured_never_blocked(make_lab) -> None:
    lab = make_lab()
    start_reflector(lab)
    wine = W.wine_in_lab(lab)
    res = wine.run(W.python_argv("-c", SCRIPT, A.REFLECTOR_V4), env=W.source_env(), cwd=REPO_ROOT, timeout=120)
    assert res.returncode == 0, res.detail()
    out = json.loads(res.stdout)
    W.record_artifact("esp_raw_wine", out)
    if out["raw50"] != "opened" or not out["admin"]:
        # Wine (or a non-administrator): no socket, so no raw path is offered and ESP is skipped
        assert out["raw"][0] is False, out
        assert out["esp"]["status"] == "skipped", out
    else:
        # a socket opened: then ESP must really be measured (answered), not silently lost
        assert out["esp"]["status"] in ("ok", "skipped"), out

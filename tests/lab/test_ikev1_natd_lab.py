"""IKEv1 NAT detection (RFC 3947) on the wire, against a real strongSwan in the lab.

``ike_exchange.py main-mode`` drives Main Mode 1 to 4 with clinicnet's wire functions over a
plain UDP socket in the PC's namespace (not through the ``ike`` probe), so this checks the
codec alone: our message 3 is one charon accepts (its log parses the NAT-D payloads and it
answers with message 4), and the NAT computed from charon's NAT-D hashes agrees with the
topology and with charon's own conclusion ("remote host is behind NAT" in its log).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lab import Lab
from tests.lab import addresses as A
from tests.lab.pytest_plugin import LabFactory

pytestmark = pytest.mark.lab

DRIVER = str(Path(__file__).with_name("ike_exchange.py"))
#: charon's log lines (``ike 2``/``enc 1``) for message 3 received and message 4 sent
PARSED_MM3 = "parsed ID_PROT request 0 [ KE No NAT-D NAT-D ]"
SENT_MM4 = "generating ID_PROT response 0 [ KE No NAT-D NAT-D ]"
CHARON_SAW_NAT = "remote host is behind NAT"


def main_mode(lab: Lab, port: int) -> dict[str, Any]:
    out = lab.run("pc", [sys.executable, DRIVER, "main-mode", A.GATEWAY_V4, "--port", str(port)])
    result: dict[str, Any] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize(
    ("options", "port", "behind"),
    [
        ({"gateway": "ikev1-only"}, 500, True),
        ({"gateway": "ikev1-only", "nat_layers": 0}, 500, False),
        ({"gateway": "ikev2-ignored", "nat_layers": 2}, 4500, True),
        ({"gateway": "strongswan", "nat_layers": 0}, 4500, False),
        ({"gateway": "ikev1-only", "nat_layers": 0, "cgn": True}, 500, True),  # the carrier's NAT only
        ({"gateway": "ikev1-only", "nat_random_ports": True}, 500, True),  # port rewritten too
    ],
    ids=["nat", "direct", "double-nat-4500", "direct-4500", "cgn", "random-ports"],
)
def test_ikev1_nat_detection_agrees_with_strongswan(
    make_lab: LabFactory, options: dict[str, Any], port: int, behind: bool
) -> None:
    lab = make_lab(**options)
    assert lab.charon is not None
    result = main_mode(lab, port)
    assert (result["mm2"], result["mm4"]) == ("ikev1_response", "ikev1_key_exchange"), result
    assert result["mm3_natd_type"] == 20 and result["hash"] == "SHA2_256", result  # RFC 3947, negotiated hash
    nat = result["nat"]
    assert (nat["measured"], nat["method"]) == (True, "ikev1-natd"), nat
    assert (nat["local_behind_nat"], nat["remote_behind_nat"]) == (behind, False), nat
    # strongSwan's side of the story: it parsed our NAT-D, answered with its own, and drew the
    # same conclusion from our hashes
    assert lab.charon.wait_for_log(SENT_MM4), lab.charon.log_text()[-3000:]
    log = lab.charon.log_text()
    assert PARSED_MM3 in log
    assert (CHARON_SAW_NAT in log) is behind, log[-3000:]
    assert "ID_PROT request 0 [ ID" not in log  # message 5 never sent

from clinicnet.probes import vpn


def test_known_clients_are_data_and_match_case_insensitively():
    known = vpn.load_client_names(["MyVendorVPN.exe"])
    found = vpn.match_processes(["systemd", "OpenVPN.exe", "charon", "myvendorvpn", "charon"], known)
    assert [f["process"] for f in found] == ["OpenVPN.exe", "charon", "myvendorvpn"]
    assert found[0]["product"] == "OpenVPN"

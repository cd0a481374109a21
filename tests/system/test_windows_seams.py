"""Windows seams on recorded Windows-shaped data (adapter names, LANGIDs, Npcap layout)."""

from __future__ import annotations

import pytest

from clinicnet.system import _common, _windows


@pytest.mark.parametrize("name,kind", [
    ("Wi-Fi", "wifi"), ("Wi-Fi 2", "wifi"), ("ワイヤレス ネットワーク接続", "wifi"), ("WLAN", "wifi"),
    ("イーサネット", "wired"), ("Ethernet 3", "wired"), ("ローカル エリア接続", "wired"),
    ("Loopback Pseudo-Interface 1", "loopback"),
    ("OpenVPN TAP-Windows6", "tunnel"), ("WireGuard Tunnel", "tunnel"), ("FENICS VPN", "tunnel"),
    ("vEthernet (WSL)", "virtual"), ("Bluetooth ネットワーク接続", "virtual"),
])
def test_kind_from_windows_adapter_names(name, kind):
    assert _windows.kind_from_name(name) == kind


def test_langid():
    assert _windows.lang_from_langid(0x0411) == "ja"
    assert _windows.lang_from_langid(0x0409) == "en"


def test_locale_names():
    assert _common.lang_from_locale_name("ja_JP.UTF-8") == "ja"
    assert _common.lang_from_locale_name("Japanese_Japan.932") == "ja"
    assert _common.lang_from_locale_name("C.UTF-8") == "en"
    assert _common.lang_from_locale_name(None) == "en"


def test_npcap_detection(tmp_path):
    assert not _windows.npcap_installed(str(tmp_path))
    (tmp_path / "System32" / "Npcap").mkdir(parents=True)
    assert _windows.npcap_installed(str(tmp_path))

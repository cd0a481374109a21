"""Known IKE vendor IDs, matched by prefix.

A gateway's vendor IDs tell the technician what answered (a strongSwan box, a
Cisco, a Windows RRAS, a Juniper...) and whether it speaks NAT-T and DPD, which
matters when the clinic sits behind NAT. The values are public facts collected
from RFCs and vendors' documentation (the ike-scan project keeps the largest
list); only the ones worth naming to a clinic technician are here, and an
unknown vendor ID is reported as hex without a name.
"""

from __future__ import annotations

#: (hex prefix, name); the longest matching prefix wins, so specific versions may
#: follow a generic family entry
_KNOWN: tuple[tuple[str, str], ...] = (
    # NAT traversal (RFC 3947 and the drafts clients still send)
    ("4a131c81070358455c5728f20e95452f", "RFC 3947 NAT-T"),
    ("4485152d18b6bbcd0be8a8469579ddcc", "draft-ietf-ipsec-nat-t-ike-00"),
    ("16f6ca16e4a4066d83821a0f0aeaa862", "draft-ietf-ipsec-nat-t-ike-01"),
    ("cd60464335df21f87cfdb2fc68b6a448", "draft-ietf-ipsec-nat-t-ike-02"),
    ("90cb80913ebb696e086381b5ec427b1f", "draft-ietf-ipsec-nat-t-ike-02\\n"),
    ("7d9419a65310ca6f2c179d9215529d56", "draft-ietf-ipsec-nat-t-ike-03"),
    ("9909b64eed937c6573de52ace952fa6b", "draft-ietf-ipsec-nat-t-ike-04"),
    ("80d0bb3def54565ee84645d4c85ce3ee", "draft-ietf-ipsec-nat-t-ike-05"),
    ("4d1e0e136deafa34c4f3ea9f02ec7285", "draft-ietf-ipsec-nat-t-ike-06"),
    ("439b59f8ba676c4c7737ae22eab8f582", "draft-ietf-ipsec-nat-t-ike-07"),
    ("8f8d83826d246b6fc7a8a6a428c11de8", "draft-ietf-ipsec-nat-t-ike-08"),
    ("42ea5b6f898d9773a575df26e7dd19e1", "draft-ietf-ipsec-nat-t-ike-09"),
    ("4df37928e9fc4fd1b3262170d515c662", "draft-ietf-ipsec-nat-t-ike"),
    ("27bab5dc01ea0760ea4e3190ac27c0d0", "draft-stenberg-ipsec-nat-traversal-01"),
    ("6105c422e76847e43f9684801292aecd", "draft-stenberg-ipsec-nat-traversal-02"),
    # capabilities
    ("afcad71368a1f1c96b8696fc7757", "Dead Peer Detection"),
    ("afcad71368a1f1c96b8696fc77570100", "Dead Peer Detection v1.0"),
    ("09002689dfd6b712", "XAUTH"),
    ("4048b7d56ebce88525e7de7f00d6c2d3", "IKE Fragmentation"),
    ("4865617274426561745f4e6f74696679", "HeartBeat Notify"),
    ("12f5f28c457168a9702d9fe274cc0100", "Cisco Unity"),
    # implementations
    ("882fe56d6fd20dbc2251613b2ebe5beb", "strongSwan"),
    ("1f07f70eaa6514d3b0fa96542a", "Cisco VPN Concentrator"),
    ("bdb41038a7ec5e5534dd004d0f91f927", "Cisco IOS (probably)"),
    ("1e2b516905991c7d7c96fcbfb587e461", "MS NT5 ISAKMPOAKLEY (Windows)"),
    ("1e2b516905991c7d7c96fcbfb587e46100000002", "Windows 2000"),
    ("1e2b516905991c7d7c96fcbfb587e46100000003", "Windows XP SP1"),
    ("1e2b516905991c7d7c96fcbfb587e46100000004", "Windows 2003 / XP SP2"),
    ("1e2b516905991c7d7c96fcbfb587e46100000005", "Windows Vista"),
    ("1e2b516905991c7d7c96fcbfb587e46100000006", "Windows Server 2008"),
    ("1e2b516905991c7d7c96fcbfb587e46100000007", "Windows 7"),
    ("1e2b516905991c7d7c96fcbfb587e46100000008", "Windows Server 2008 R2"),
    ("1e2b516905991c7d7c96fcbfb587e46100000009", "Windows 8 or later"),
    ("fb1de3cdf341b7ea16b7e5be0855f120", "MS-Negotiation Discovery Capable"),
    ("26244d38eddb61b3172a36e3d0cfb819", "Microsoft Initial-Contact"),
    ("214ca4faffa7f32d6748e5303395ae83", "MS-MamieExists"),
    ("e3a5966a76379fe707228231e5ce8652", "IKE CGA version 1"),
    ("7003cbc1097dbe9c2600ba6983bc8b35", "KAME/racoon (ipsec-tools)"),
    ("4f45", "Openswan/Libreswan (probably)"),
    ("1d6e178f6c2c0be284985465450fe9d4", "Fortinet FortiGate"),
    ("f4ed19e0c114eb516faaac0ee37daf2807b4381f", "Check Point Firewall-1"),
    ("5b362bc820f6", "SonicWall"),
    ("404bf439522ca3f6", "SonicWall"),
    ("dbfb81eb5760b0788562067da102d755", "Netgear"),
    ("b858d1addd08c1e8adafea150608aa4497aa6cc8", "ZyXEL ZyWALL"),
    ("625027749d5ab97f5616c1602765cf480a3b7d0b", "ZyXEL ZyWALL"),
    ("f758f22668750f03b08df6ebe1d0", "ZyXEL ZyWALL USG"),
    ("424e4553000000", "Nortel Contivity"),
    # Juniper NetScreen / ScreenOS: one ID per release, all 20 bytes
    ("299ee8289f40a8973bc78687e2e7226b532c3b76", "Juniper NetScreen"),
    ("3a15e1f3cf2a63582e3ac82d1c64cbe3b6d779e7", "Juniper NetScreen"),
    ("47d2b126bfcd83489760e2cf8c5d4d5a03497c15", "Juniper NetScreen"),
    ("4a4340b543e02b84c88a8b96a8af9ebe77d9accc", "Juniper NetScreen"),
    ("64405f46f03b7660a23be116a1975058e69e8387", "Juniper NetScreen"),
    ("699369228741c6d4ca094c93e242c9de19e7b7c6", "Juniper NetScreen"),
    ("8c0dc6cf62a0ef1b5c6eabd1b67ba69866adf16a", "Juniper NetScreen"),
    ("92d27a9ecb31d99246986d3453d0c3d57a222a61", "Juniper NetScreen"),
    ("9b096d9ac3275a7d6fe8b91c583111b09efed1a0", "Juniper NetScreen"),
    ("bf03746108d746c904f1f3547de24f78479fed12", "Juniper NetScreen"),
    ("c2e80500f4cc5fbf5daaeed3bb59abaeee56c652", "Juniper NetScreen"),
    ("c8660a62b03b1b6130bf781608d32a6a8d0fb89f", "Juniper NetScreen"),
    ("f885da40b1e7a9abd17655ec5bbec0f21f0ed52e", "Juniper NetScreen"),
    ("2a2bcac19b8e91b426107807e02e7249569d6fd3", "Juniper NetScreen"),
    ("166f932d55eb64d8e4df4fd37e2313f0d0fd8451", "Juniper NetScreen"),
    ("a35bfd05ca1ac0b3d2f24e9e82bfcbff9c9e52b5", "Juniper NetScreen"),
    ("9436e8d67174ef9aed068d5ad5213f187a3f8ba6", "Juniper NetScreen"),
)

#: vendor IDs whose *data* is readable text in practice (e.g. Cisco's
#: "CISCO-DELETE-REASON", Yamaha RTX and others sending their product name)
_TEXT_PREFIXES: tuple[bytes, ...] = (b"CISCO", b"FLEXVPN", b"YAMAHA", b"RTX", b"NEC")

# longest prefix first, so the most specific entry names the ID
_BY_LENGTH = sorted(_KNOWN, key=lambda item: len(item[0]), reverse=True)


def identify(data: bytes) -> str | None:
    """Name a vendor ID, or ``None`` when it is not in the table.

    Prefix matching because several vendors append version or capability bytes
    to a fixed family value (Windows, DPD, Check Point).
    """
    hexed = data.hex()
    for prefix, name in _BY_LENGTH:
        if hexed.startswith(prefix):
            return name
    upper = data[:16].upper()
    for text in _TEXT_PREFIXES:
        if upper.startswith(text) and all(32 <= b < 127 for b in data[:64]):
            return data[:64].decode("ascii")
    return None


#: vendor IDs an IKEv1 initiator such as a Windows or strongSwan client sends
RFC3947_NAT_T = "4a131c81070358455c5728f20e95452f"
NAT_T_DRAFT_02 = "cd60464335df21f87cfdb2fc68b6a448"
NAT_T_DRAFT_02N = "90cb80913ebb696e086381b5ec427b1f"
NAT_T_DRAFT_03 = "7d9419a65310ca6f2c179d9215529d56"
DPD = "afcad71368a1f1c96b8696fc77570100"
XAUTH = "09002689dfd6b712"
FRAGMENTATION = "4048b7d56ebce88525e7de7f00d6c2d380000000"

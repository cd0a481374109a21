"""DH public values are genuine; vendor IDs are named by their longest known prefix."""

from __future__ import annotations

import pytest

from clinicnet.wire import dh
from clinicnet.wire.vendor_ids import identify


def _pi_scaled(bits: int) -> int:
    """floor(pi * 2**bits) by Machin's formula, to re-derive the RFC 3526 primes."""
    guard = bits + 64
    one = 1 << guard

    def arctan_inv(x: int) -> int:
        total, term, n, sign = 0, one // x, 1, 1
        while term:
            total += sign * (term // n)
            term //= x * x
            n += 2
            sign = -sign
        return total

    return (4 * (4 * arctan_inv(5) - arctan_inv(239))) >> 64


def test_modp_primes_match_their_definition() -> None:
    # RFC 3526 §3 and RFC 2409 §6.2: p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k)
    assert dh.MODP2048_P == 2**2048 - 2**1984 - 1 + 2**64 * (_pi_scaled(1918) + 124476)
    assert dh.MODP1024_P == 2**1024 - 2**960 - 1 + 2**64 * (_pi_scaled(894) + 129093)


def test_modp_value_in_range() -> None:
    y = int.from_bytes(dh.public_value(14), "big")
    assert 1 < y < dh.MODP2048_P - 1


def test_ecp256_point_is_on_the_curve() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    value = dh.public_value(19)
    assert len(value) == 64
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + value)  # raises if off-curve


def test_unsupported_group() -> None:
    with pytest.raises(dh.UnsupportedGroup):
        dh.public_value(24)


@pytest.mark.parametrize(
    "hexed,name",
    [
        ("882fe56d6fd20dbc2251613b2ebe5beb", "strongSwan"),
        ("afcad71368a1f1c96b8696fc77570100", "Dead Peer Detection v1.0"),
        ("afcad71368a1f1c96b8696fc77570199", "Dead Peer Detection"),
        ("1e2b516905991c7d7c96fcbfb587e46100000009", "Windows 8 or later"),
        ("1e2b516905991c7d7c96fcbfb587e461000000ff", "MS NT5 ISAKMPOAKLEY (Windows)"),
        ("4048b7d56ebce88525e7de7f00d6c2d3c0000000", "IKE Fragmentation"),
        ("699369228741c6d4ca094c93e242c9de19e7b7c6", "Juniper NetScreen"),
        ("00112233445566778899aabbccddeeff", None),
        ("", None),
    ],
)
def test_vendor_names(hexed: str, name: str | None) -> None:
    assert identify(bytes.fromhex(hexed)) == name


def test_text_vendor_ids() -> None:
    assert identify(b"CISCO-DELETE-REASON") == "CISCO-DELETE-REASON"
    assert identify(b"CISCO\xff\x00") is None

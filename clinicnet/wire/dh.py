"""Diffie-Hellman public values for the KE payload.

A gateway checks the KE payload of IKE_SA_INIT before it answers (strongSwan
rejects a point that is not on the curve or a MODP value out of range with
INVALID_SYNTAX), so the probe sends a genuine public value, not random bytes.
The private half is thrown away at once: the probe never completes the
exchange, and no key material ever leaves this module.

MODP groups are pure Python (one ``pow``), the elliptic curve groups use
``cryptography``, imported only when such a group is actually used so that
importing the codec stays fast.
"""

from __future__ import annotations

import secrets

#: RFC 3526 group 14 (2048-bit MODP); a unit test re-derives it from pi
MODP2048_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)

#: RFC 2409 Oakley group 2 (1024-bit MODP), still offered by old IKEv1 gateways
MODP1024_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)

_MODP = {2: (MODP1024_P, 128), 14: (MODP2048_P, 256)}

#: groups :func:`public_value` can produce; anything else cannot be retried with
SUPPORTED_GROUPS = frozenset({2, 14, 19, 20, 21, 31})


class UnsupportedGroup(ValueError):
    """The responder asked for a group this probe cannot generate."""


def public_value(group: int) -> bytes:
    """KE payload data for ``group`` (RFC 7296 §3.4, RFC 5903 for ECP: x || y)."""
    if group in _MODP:
        prime, size = _MODP[group]
        # a 256-bit exponent is what real implementations use for these groups
        # (RFC 3526 §8 strength estimate) and keeps pow() to a few milliseconds
        exponent = secrets.randbits(256) | (1 << 255)
        return pow(2, exponent, prime).to_bytes(size, "big")
    if group in (19, 20, 21):
        return _ecp_public(group)
    if group == 31:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        return X25519PrivateKey.generate().public_key().public_bytes_raw()
    raise UnsupportedGroup(f"DH group {group} is not supported by the probe")


def _ecp_public(group: int) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec

    curve: ec.EllipticCurve
    if group == 19:
        curve, size = ec.SECP256R1(), 32
    elif group == 20:
        curve, size = ec.SECP384R1(), 48
    else:
        curve, size = ec.SECP521R1(), 66
    numbers = ec.generate_private_key(curve).public_key().public_numbers()
    return numbers.x.to_bytes(size, "big") + numbers.y.to_bytes(size, "big")

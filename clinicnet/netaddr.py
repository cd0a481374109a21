"""What an address or a host name is: one place for the ranges the report reasons about.

Stdlib only and cheap to import: the command line validates hosts with it, the
probes classify trace hops and interface addresses with it, the rules read CGN
and DS-Lite from it.
"""

from __future__ import annotations

import ipaddress
import re

CGN_NET = ipaddress.ip_network("100.64.0.0/10")
#: IANA's DS-Lite block (RFC 6333 §5.7): 192.0.0.1 is the AFTR's end of the softwire, 192.0.0.2
#: the B4's; seen on a trace hop or as a router's WAN address, it means IPv4 rides on IPv6
DSLITE_NET = ipaddress.ip_network("192.0.0.0/29")
#: what a NAT's inside looks like: RFC 1918 and link-local. Not ``ipaddress.is_private``,
#: which also calls the documentation ranges (192.0.2.0/24 ...) private: those are routed
#: like public addresses in labs and examples, and no home router uses them inside.
PRIVATE_NETS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8")
)
ULA_NET = ipaddress.ip_network("fc00::/7")
#: IPv6 documentation space; counted as global so labs behave like the field
DOC_V6_NET = ipaddress.ip_network("2001:db8::/32")


def is_ip(text: str) -> bool:
    """An IPv4 or IPv6 literal (an IPv6 zone such as ``%eth0`` allowed)."""
    try:
        ipaddress.ip_address(text.strip().split("%", 1)[0])
        return True
    except ValueError:
        return False


_INET_ATON_PART = re.compile(r"0[xX][0-9A-Fa-f]*|[0-9]+")


def valid_hostname(host: str) -> bool:
    """A DNS name of ASCII labels (letters, digits, ``-``, ``_``), not an address.

    Nothing the system resolver would read as an address counts as a name: a last
    label of digits alone (``256.1.1.1``, ``1.2.3``: no top-level domain is numeric,
    RFC 3696 §2) or the old ``inet_aton`` spellings (``0x7f.1``, ``0x7f000001``),
    which ``getaddrinfo`` turns into an address without asking DNS. Taken as names,
    ``--target 256.1.1.1`` would be probed as whatever the resolver makes of it.
    """
    if not host or len(host) > 253:
        return False
    labels = host.rstrip(".").split(".")
    if labels[-1].isdigit() or (len(labels) <= 4 and all(_INET_ATON_PART.fullmatch(lb) for lb in labels)):
        return False
    return all(
        0 < len(lb) <= 63 and lb.isascii() and all(c.isalnum() or c in "-_" for c in lb) and not lb.startswith("-")
        for lb in labels
    )


def valid_host(host: str) -> bool:
    """What ``--target`` and friends accept: an IP literal or a host name."""
    return is_ip(host) or valid_hostname(host)


def address_kind(address: str) -> str:
    """``private`` (RFC 1918), ``cgn`` (100.64.0.0/10, RFC 6598), ``dslite`` (192.0.0.0/29,
    the DS-Lite softwire's B4/AFTR addresses, RFC 6333), ``public`` or ``invalid``."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "invalid"
    if ip.version != 4:
        return "private" if (ip.is_link_local or ip.is_loopback or ip in ULA_NET) else "public"
    if ip in CGN_NET:
        return "cgn"
    if ip in DSLITE_NET:
        return "dslite"
    if any(ip in n for n in PRIVATE_NETS):
        return "private"
    return "public"


def v6_scope(addr: ipaddress.IPv6Address) -> str:
    """``loopback``, ``link-local``, ``ula``, ``global`` or ``other`` for an interface address."""
    if addr.is_loopback:
        return "loopback"
    if addr.is_link_local:
        return "link-local"
    if addr in ULA_NET:
        return "ula"
    if addr.is_global or addr in DOC_V6_NET:
        return "global"
    return "other"

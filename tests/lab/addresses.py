"""Addresses, names and interface names of the lab topology.

These are part of the lab's public API: tests and the CLI's lab tests assert on them (the
reflector must see ``PUBLIC_V4``, the PC must have ``PC_V4`` ...), so they live here once instead
of being retyped as literals.  All prefixes are documentation/private ranges (RFC 5737, RFC 3849,
RFC 1918, RFC 6598); they exist only inside the lab's own network namespaces, which have no link
to the host, so reusing 192.0.2.0/24 (also the host's eth0 network) is harmless.

Topology, inside to outside (``nat_layers``/``cgn`` decide which middle devices exist)::

    pc --eth0/lan0-- router --wan0/lan0-- modem --wan0/lan0-- cgn --wan0/clinic0-- isp --dc0/eth0-- dc
    192.168.10.10    .1  192.168.0.2  192.168.0.1  100.64.0.2  100.64.0.1  198.51.100.2/.1  192.0.2.1/.10,.20

    dslite=True:  pc -- router (B4) ==softwire dslite0== aftr --wan0/clinic0-- isp -- dc
                         wan0 2001:db8:4::2 (IPv6 only) / lan0 2001:db8:4::1; tunnel 192.0.0.2 / 192.0.0.1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import webserver

if TYPE_CHECKING:  # pragma: no cover - import only for the annotations
    from .harness import LabOptions

# --- clinic LAN (pc <-> router) -------------------------------------------------------------
PC_V4 = "192.168.10.10"
ROUTER_LAN_V4 = "192.168.10.1"
LAN_V4_PREFIX = 24
PC_V6 = "2001:db8:10::10"
ROUTER_LAN_V6 = "2001:db8:10::1"
LAN_V6_NET = "2001:db8:10::/64"

# --- double NAT: clinic router behind a Wi-Fi cable modem that routes (nat_layers == 2) -----
ROUTER_WAN_V4 = "192.168.0.2"  # the clinic router's WAN when it sits behind the modem
MODEM_LAN_V4 = "192.168.0.1"
MODEM_LAN_V4_PREFIX = 24
ROUTER_WAN_V6 = "2001:db8:168::2"
MODEM_LAN_V6 = "2001:db8:168::1"
MODEM_LAN_V6_NET = "2001:db8:168::/64"

# --- carrier-grade NAT (cgn=True): shared address space 100.64.0.0/10 ----------------------
CGN_CUSTOMER_V4 = "100.64.0.2"  # the clinic's outermost device, as the CGN's customer
CGN_INSIDE_V4 = "100.64.0.1"  # the CGN's customer-facing address (next hop of the clinic)
PC_CGN_V4 = "100.64.0.10"  # the PC itself when nat_layers == 0 and cgn=True
CGN_V4_PREFIX = 10
CGN_CUSTOMER_V6 = "2001:db8:64::2"
CGN_INSIDE_V6 = "2001:db8:64::1"
CGN_V6_NET = "2001:db8:64::/64"

# --- DS-Lite (dslite=True): the clinic router is the B4, an ``aftr`` role sits in the ISP ----
# The router's WAN (wan0) has IPv6 only; IPv4 goes through a softwire (IPv4-in-IPv6, RFC 6333)
# to the AFTR, which does NAT44 to the public side (198.51.100.2, i.e. PUBLIC_V4).
DSLITE_B4_V6 = "2001:db8:4::2"  # router wan0: the softwire's B4 end
DSLITE_AFTR_V6 = "2001:db8:4::1"  # aftr lan0: the softwire's AFTR end
DSLITE_V6_NET = "2001:db8:4::/64"
DSLITE_B4_V4 = "192.0.0.2"  # RFC 6333 well-known B4 address, on the tunnel
DSLITE_AFTR_V4 = "192.0.0.1"  # RFC 6333 well-known AFTR address, on the tunnel
DSLITE_V4_PREFIX = 29  # 192.0.0.0/29, IANA's DS-Lite block
DSLITE_IFACE = "dslite0"
DSLITE_MTU = 1460  # 1500 minus the 40-byte IPv6 header

# --- public side of the clinic (outermost clinic device, or the CGN) <-> isp ---------------
PUBLIC_V4 = "198.51.100.2"  # what the internet sees when there is any NAT (router, modem or CGN)
PC_PUBLIC_V4 = "198.51.100.10"  # the PC's own address when nat_layers == 0 and no CGN
ISP_PUBLIC_V4 = "198.51.100.1"
PUBLIC_V4_PREFIX = 24
PUBLIC_V6 = "2001:db8:100::2"
ISP_PUBLIC_V6 = "2001:db8:100::1"
PUBLIC_V6_NET = "2001:db8:100::/64"
# with nat_layers == 0 the PC keeps PC_V6 and the isp (or cgn) side of its link is ROUTER_LAN_V6

# --- internet core (isp): services on its lo -----------------------------------------------
WEB_V4 = "203.0.113.80"
WEB_V6 = "2001:db8:203::80"
DNS_V4 = "203.0.113.53"
DNS_V6 = "2001:db8:203::53"
WEB_PORT = 80

# --- data centre (dc) ----------------------------------------------------------------------
ISP_DC_V4 = "192.0.2.1"
GATEWAY_V4 = "192.0.2.10"  # the VPN gateway (a strongSwan launcher binds here)
REFLECTOR_V4 = "192.0.2.20"  # the reflector (echoes what it sees: source address/port)
DC_V4_PREFIX = 24
ISP_DC_V6 = "2001:db8:dc::1"
GATEWAY_V6 = "2001:db8:dc::10"
REFLECTOR_V6 = "2001:db8:dc::20"  # present on dc when ipv6, but not published in DNS
DC_V6_NET = "2001:db8:dc::/64"

# --- VPN tunnel on the PC (vpn_up=True) ----------------------------------------------------
TUN_IFACE = "tun0"
TUN_V4 = "10.8.0.2"
TUN_V4_PREFIX = 24
TUN_V6 = "fd00:8::2"  # ULA, only when the PC has IPv6
TUN_V6_PREFIX = 64

# --- DNS names served by the lab's dnsmasq --------------------------------------------------
WEB_NAME = "web.lab.test"
GATEWAY_NAME = "gateway.lab.test"
REFLECTOR_NAME = "reflector.lab.test"
#: names that connectivity checks use by default; they resolve to the lab's web server so a
#: default clinicnet run inside the lab never needs the real internet
CONNECTIVITY_NAMES_DUAL = ("www.msftconnecttest.com", "connectivitycheck.gstatic.com")
CONNECTIVITY_NAMES_V6 = ("ipv6.msftconnecttest.com",)
#: Windows NCSI's DNS probe expects exactly these answers (no packet is ever sent to them)
NCSI_DNS_NAME = "dns.msftncsi.com"
NCSI_DNS_V4 = "131.107.255.255"
NCSI_DNS_V6 = "fd3e:4f5a:5b81::1"

# --- web server contents (defined next to the server, which runs as a standalone script) ----
CONNECTTEST_BODY = webserver.CONNECTTEST_BODY
NCSI_BODY = webserver.NCSI_BODY
ROOT_BODY = webserver.ROOT_BODY

# --- interface names inside the namespaces --------------------------------------------------
PC_IFACE = "eth0"  # the PC's only wired interface
LAN_IFACE = "lan0"  # inner side of router, modem and cgn
WAN_IFACE = "wan0"  # outer side of router, modem and cgn
ISP_CLINIC_IFACE = "clinic0"  # isp side of the clinic's public link
ISP_DC_IFACE = "dc0"
DC_IFACE = "eth0"
#: the isp's TUN held by ``delayrelay.py`` (``delay_ms``), and the routing table that leads into it
DELAY_IFACE = "delay0"
DELAY_TABLE = 77

#: every role in topology order, inside to outside
ALL_ROLES = ("pc", "router", "modem", "cgn", "aftr", "isp", "dc")


def pc_ipv4(options: LabOptions) -> str | None:
    """The PC's own IPv4 address in this variant (None when the PC is IPv6-only)."""
    if not options.ipv4:
        return None
    if options.nat_layers > 0:
        return PC_V4
    return PC_CGN_V4 if options.cgn else PC_PUBLIC_V4


def public_ipv4(options: LabOptions) -> str:
    """The source address the internet (web server, reflector, gateway) sees from the clinic.

    This is what a NAT-detecting probe should report as the public address.
    """
    if options.nat_layers == 0 and not options.cgn:
        return PC_PUBLIC_V4
    return PUBLIC_V4


def pc_gateway_v4(options: LabOptions) -> str:
    """The PC's IPv4 next hop (the device its default route points at)."""
    if options.nat_layers > 0:
        return ROUTER_LAN_V4
    return CGN_INSIDE_V4 if options.cgn else ISP_PUBLIC_V4


def pc_gateway_v6(options: LabOptions) -> str:
    """The PC's IPv6 next hop: always ``ROUTER_LAN_V6`` on whatever device is next."""
    return ROUTER_LAN_V6

"""Masking of addresses, MAC addresses and names before a report leaves the clinic.

Reports are attached to tickets, so they must not carry the clinic's public
address, the PC's name or the router's MAC. They must still let a technician
reason about the network, hence masks that keep the category (``<private-v4#1>``,
``<cgn-v4#1>``, ``<v6-global#2>``...) and stay consistent: the same address gets
the same mask everywhere in the report, and in any other text (a log, a pcap's
strings) redacted with the same :class:`Redactor`.

Detection favours precision where a regex would be ambiguous: candidates are
validated with :mod:`ipaddress`, dotted numbers with fewer or more than four parts
(versions, ``1.2.3``) are left alone, times (``12:34:56``) are not IPv6, and long
hex strings without separators (IKE SPIs, vendor IDs) are neither MAC nor IPv6.
Names are matched when they look like an FQDN with a plausible top-level domain or
when the report names them (the PC's host name, the settings' targets).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Final
from urllib.parse import urlsplit

from clinicnet.model import Finding, JSONValue, Unmeasured
from clinicnet.netaddr import is_ip
from clinicnet.reports.report import Report

#: Public hosts every clinic's diagnosis talks to; naming them reveals nothing and
#: keeps the report readable ("the Microsoft connectivity check failed").
KEEP_HOSTS: Final[frozenset[str]] = frozenset(
    {
        "localhost",
        "www.msftconnecttest.com",
        "ipv6.msftconnecttest.com",
        "www.msftncsi.com",
        "dns.msftncsi.com",
        "connectivitycheck.gstatic.com",
        "connectivitycheck.android.com",
        "clients3.google.com",
        "www.gstatic.com",
        "www.google.com",
        "captive.apple.com",
        "www.apple.com",
        "detectportal.firefox.com",
        "dns.google",
        "one.one.one.one",
        "cloudflare-dns.com",
        "time.windows.com",
        "time.google.com",
        "pool.ntp.org",
        "ntp.nict.jp",
        "ntp.jst.mfeed.ad.jp",
        "ipv4only.arpa",
        "example.com",
        "example.net",
        "example.org",
        "www.example.com",
    }
)

#: Public resolvers: the same for every clinic, and "DNS to 8.8.8.8 fails" is evidence.
KEEP_ADDRESSES: Final[frozenset[str]] = frozenset(
    {
        "8.8.8.8",
        "8.8.4.4",
        "1.1.1.1",
        "1.0.0.1",
        "9.9.9.9",
        "149.112.112.112",
        "208.67.222.222",
        "208.67.220.220",
        "2001:4860:4860::8888",
        "2001:4860:4860::8844",
        "2606:4700:4700::1111",
        "2606:4700:4700::1001",
    }
)

# Top-level domains for which a dotted word counts as a host name in free text.
# Deliberately curated, not the full IANA list: ``finding.id``, ``os.name``,
# ``ike.py`` must not be mistaken for hosts. Names outside this list are still
# masked when the report names them (settings, host info).
_TLDS: Final[frozenset[str]] = frozenset(
    """
    com net org info biz edu gov mil int io co cloud dev jp
    local lan home internal localdomain corp box intranet test example invalid arpa
    tokyo osaka nagoya yokohama kyoto okinawa
    us uk de fr nl eu au ca cn kr tw hk sg ch se
    """.split()
)

_V4_SPECIAL: Final[tuple[tuple[ipaddress.IPv4Network, str | None], ...]] = tuple(
    (ipaddress.IPv4Network(net), cat)
    for net, cat in (
        ("127.0.0.0/8", None),
        ("0.0.0.0/32", None),
        ("255.255.255.255/32", None),
        ("224.0.0.0/4", None),
        # IETF protocol assignments (DS-Lite B4/AFTR 192.0.0.1/2 ...): the same
        # for every customer, and useful to see as they are
        ("192.0.0.0/24", None),
        ("169.254.0.0/16", "link-local-v4"),
        ("10.0.0.0/8", "private-v4"),
        ("172.16.0.0/12", "private-v4"),
        ("192.168.0.0/16", "private-v4"),
        ("100.64.0.0/10", "cgn-v4"),
        ("198.18.0.0/15", "special-v4"),
        ("0.0.0.0/8", "reserved-v4"),
        ("240.0.0.0/4", "reserved-v4"),
    )
)

_SOLICITED_NODE: Final = ipaddress.IPv6Network("ff02::1:ff00:0/104")
_NAT64_WKP: Final = ipaddress.IPv6Network("64:ff9b::/96")

#: what a mask looks like; never matched again, so redacting twice changes nothing
_MASK_RE: Final = re.compile(r"<[a-z0-9-]+#\d+>")

_HEX = "[0-9A-Fa-f]"
_MAC_RE: Final = re.compile(rf"(?<![\w.-])({_HEX}{{2}})([:-]){_HEX}{{2}}(?:\2{_HEX}{{2}}){{4}}(?![\w-]|:[\w:]|\.\w)")
_UUID_RE: Final = re.compile(rf"(?<![\w-]){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![\w-])")
_V6_RE: Final = re.compile(
    rf"(?<![\w.])(?P<addr>(?:{_HEX}{{0,4}}:){{2,7}}(?:\d{{1,3}}(?:\.\d{{1,3}}){{3}}|{_HEX}{{0,4}}))"
    r"(?P<zone>%[\w.-]+)?(?P<plen>/\d{1,3})?(?![\w<]|:[\w:<]|\.\d)"
)
#: a match right after "aa:" / "2001:" is the tail of a longer hex run, not a start
_HEX_RUN_BEFORE_RE: Final = re.compile(r"(?:(?<!\w)[0-9A-Fa-f]{1,4}[:-]|::)$")
_V4_RE: Final = re.compile(r"(?<![\w.])(?P<addr>\d{1,3}(?:\.\d{1,3}){3})(?P<plen>/\d{1,2})?(?!\w|\.\d)")
#: "version 1.2.3.4", "ver. 10.0.0.1", "build: ..." right before a dotted quad
_VERSION_BEFORE_RE: Final = re.compile(r"(?i)(?:\bversion|\bver\.?|\bbuild|\brev\.?)\s*[:=]?\s*$")
_FQDN_RE: Final = re.compile(
    r"(?<![\w.<#-])(?P<name>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?P<tld>[A-Za-z]{2,63}))(?![\w#>-]|\.[\w-])"
)
#: Windows' generated computer names, masked even where the report does not name them
_WIN_NAME_RE: Final = re.compile(r"(?<![\w.<#-])(?:DESKTOP|LAPTOP|WIN)-[A-Z0-9]{5,15}(?![\w#>-])")
_USER_DIR_RE: Final = re.compile(
    r"(?P<pre>(?i:[a-z]:\\{1,2}(?:users|documents and settings)\\{1,2}|/home/|/Users/))"
    r"(?P<user>[^\\/\s\"'<>:]+)"
)
_SHARED_USER_DIRS: Final = frozenset({"public", "default", "all users", "default user"})

#: dictionary keys whose string values are identifying as a whole, by category
_KEY_CATEGORIES: Final[Mapping[str, str]] = {
    "hostname": "host",
    "host_name": "host",
    "computer_name": "host",
    "computername": "host",
    "fqdn": "host",
    "ssid": "ssid",
    "user": "user",
    "username": "user",
    "user_name": "user",
}
#: keys whose dotted quads are versions, not addresses
_VERSION_KEY_RE: Final = re.compile(r"(?i)(?:^|[_.-])(?:version|ver|build|revision)$")
#: keys of ``report.host`` that name this PC or its domain
_HOST_NAME_KEYS: Final = ("hostname", "fqdn", "domain", "computer_name", "netbios_name")
#: keys of ``report.settings`` whose entries are hosts (names, addresses, URLs)
_SETTINGS_HOST_KEYS: Final = ("targets", "reflectors", "dns_names", "internet_checks")


def is_mask(s: str) -> bool:
    """True if ``s`` contains a mask: such names are never registered again."""
    return bool(_MASK_RE.search(s))


def host_of(entry: str) -> str | None:
    """The host name in a target/URL/``host:port`` entry, or None if it is an address.

    Addresses need no registering: the address patterns find them anywhere.
    """
    s = entry.strip()
    if not s:
        return None
    if "://" in s:
        try:
            host = urlsplit(s).hostname or ""
        except ValueError:
            return None
    elif s.startswith("["):
        host = s[1 : s.find("]")] if "]" in s else s[1:]
    elif s.count(":") == 1:
        host = s.split(":", 1)[0]
    else:
        host = s
    host = host.strip().rstrip(".").lower()
    if not host or is_ip(host):
        return None
    return host


class Redactor:
    """One consistent mapping from originals to masks.

    Keep one instance for everything that is shipped together (report, log, pcap
    strings) so that ``<private-v4#1>`` means the same address in all of them.
    ``mapping`` gives original -> mask, with originals normalised (IPv4 dotted,
    IPv6 compressed without zone, MAC lower-case with colons, names lower-case).
    """

    def __init__(
        self,
        hostnames: Iterable[str] = (),
        *,
        keep_hosts: Iterable[str] = KEEP_HOSTS,
        keep_addresses: Iterable[str] = KEEP_ADDRESSES,
    ) -> None:
        self._keep_hosts = frozenset(h.lower().rstrip(".") for h in keep_hosts)
        self._keep_addresses = frozenset(str(ipaddress.ip_address(a)) for a in keep_addresses)
        self._map: dict[str, str] = {}
        self._counters: dict[str, int] = {}
        self._names: set[str] = set()
        self._names_re: re.Pattern[str] | None = None
        for name in hostnames:
            self.add_hostname(name)

    # -- construction -----------------------------------------------------------------

    @classmethod
    def for_report(
        cls,
        report: Report,
        *,
        keep_hosts: Iterable[str] = KEEP_HOSTS,
        keep_addresses: Iterable[str] = KEEP_ADDRESSES,
    ) -> Redactor:
        """A redactor that knows the names this report mentions by name."""
        r = cls(keep_hosts=keep_hosts, keep_addresses=keep_addresses)
        for key in _HOST_NAME_KEYS:
            v = report.host.get(key)
            if isinstance(v, str):
                r.add_hostname(v)
        for key in _SETTINGS_HOST_KEYS:
            for s in _strings(report.settings.get(key)):
                h = host_of(s)
                if h:
                    r.add_hostname(h)
        return r

    def add_hostname(self, name: str) -> None:
        """Mask ``name`` wherever it appears as a word (case-insensitive).

        Public check hosts, masks and things too short or numeric to be a name are
        ignored, so registering liberally is safe.
        """
        n = name.strip().rstrip(".").lower()
        if len(n) < 2 or n.isdigit() or n in self._keep_hosts or is_mask(n) or is_ip(n):
            return
        if n not in self._names:
            self._names.add(n)
            self._names_re = None  # compiled on next use: n registrations, one compile

    def _names_pattern(self) -> re.Pattern[str] | None:
        if self._names_re is None and self._names:
            alts = "|".join(re.escape(x) for x in sorted(self._names, key=len, reverse=True))
            self._names_re = re.compile(rf"(?<![\w.<#-])(?:{alts})(?![\w#>-])", re.IGNORECASE)
        return self._names_re

    # -- the mapping --------------------------------------------------------------------

    @property
    def mapping(self) -> dict[str, str]:
        """A copy of original -> mask, in the order the originals were first seen."""
        return dict(self._map)

    def _mask(self, key: str, category: str) -> str:
        m = self._map.get(key)
        if m is None:
            n = self._counters.get(category, 0) + 1
            self._counters[category] = n
            m = self._map[key] = f"<{category}#{n}>"
        return m

    def mask_ip(self, addr: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
        """The mask for one address (or the address itself where it stays visible)."""
        ip = ipaddress.ip_address(addr) if isinstance(addr, str) else addr
        if isinstance(ip, ipaddress.IPv4Address):
            return self._mask_v4(ip)
        return self._mask_v6(ip)

    def _mask_v4(self, ip: ipaddress.IPv4Address) -> str:
        s = str(ip)
        if s in self._keep_addresses or _is_netmask(ip):
            return s
        for net, cat in _V4_SPECIAL:
            if ip in net:
                return s if cat is None else self._mask(s, cat)
        return self._mask(s, "public-v4")

    def _mask_v6(self, ip: ipaddress.IPv6Address) -> str:
        s = str(ip)
        if s in self._keep_addresses or ip.is_loopback or ip.is_unspecified:
            return s
        if ip.ipv4_mapped is not None:
            return "::ffff:" + self._mask_v4(ip.ipv4_mapped)
        if ip in _NAT64_WKP:
            return "64:ff9b::" + self._mask_v4(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.is_multicast:
            return self._mask(s, "v6-multicast") if ip in _SOLICITED_NODE else s
        if ip.is_link_local:
            return self._mask(s, "v6-link-local")
        if ip in ipaddress.IPv6Network("fc00::/7"):
            return self._mask(s, "v6-ula")
        if ip in ipaddress.IPv6Network("2000::/3"):
            return self._mask(s, "v6-global")
        return self._mask(s, "v6-other")

    def mask_mac(self, mac: str) -> str:
        key = mac.lower().replace("-", ":")
        if key in ("ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"):
            return mac
        return self._mask(key, "mac")

    def mask_host(self, name: str) -> str:
        key = name.strip().rstrip(".").lower()
        if key in self._keep_hosts or is_mask(name):
            return name
        return self._mask(key, "host")

    # -- text ---------------------------------------------------------------------------

    def text(self, s: str) -> str:
        """``s`` with every address, MAC, UUID, known name and user directory masked."""
        return self._text(s, versions=False)

    def _text(self, s: str, *, versions: bool) -> str:
        if not s:
            return s
        s = _MAC_RE.sub(self._mac_sub, s)
        s = _UUID_RE.sub(lambda m: self._mask(m.group(0).lower(), "uuid"), s)
        s = _V6_RE.sub(self._v6_sub, s)
        if not versions:
            s = _V4_RE.sub(self._v4_sub, s)
        s = _FQDN_RE.sub(self._fqdn_sub, s)
        names = self._names_pattern()
        if names is not None:
            s = names.sub(lambda m: self.mask_host(m.group(0)), s)
        s = _WIN_NAME_RE.sub(lambda m: self.mask_host(m.group(0)), s)
        s = _USER_DIR_RE.sub(self._user_sub, s)
        return s

    def _mac_sub(self, m: re.Match[str]) -> str:
        if _hex_run_before(m.string, m.start()):
            return m.group(0)
        return self.mask_mac(m.group(0))

    def _v4_sub(self, m: re.Match[str]) -> str:
        octets = [int(x) for x in m.group("addr").split(".")]
        if any(o > 255 for o in octets):
            return m.group(0)
        if _version_before(m.string, m.start()):
            return m.group(0)
        masked = self._mask_v4(ipaddress.IPv4Address(".".join(map(str, octets))))
        return masked + (m.group("plen") or "")

    def _v6_sub(self, m: re.Match[str]) -> str:
        addr = m.group("addr")
        if _hex_run_before(m.string, m.start()):
            return m.group(0)
        groups = addr.split(":")
        # colon-separated hex bytes ("12:34:56:78:9a:bc:de:f0") are dumps, not addresses
        if "::" not in addr and all(len(g) == 2 for g in groups):
            return m.group(0)
        tail = ""
        if addr.endswith(":") and not addr.endswith("::"):
            # "fe80::1: unreachable": the colon belongs to the sentence
            addr, tail = addr[:-1], ":"
        try:
            ip = ipaddress.IPv6Address(addr)
        except ValueError:
            return m.group(0)
        return self._mask_v6(ip) + tail + (m.group("zone") or "") + (m.group("plen") or "")

    def _fqdn_sub(self, m: re.Match[str]) -> str:
        if m.group("tld").lower() not in _TLDS:
            return m.group(0)
        return self.mask_host(m.group("name"))

    def _user_sub(self, m: re.Match[str]) -> str:
        user = m.group("user")
        if user.lower() in _SHARED_USER_DIRS or is_mask(user):
            return m.group(0)
        return m.group("pre") + self._mask(user.lower(), "user")

    # -- structured values ------------------------------------------------------------

    def value(self, obj: JSONValue) -> JSONValue:
        """A copy of a JSON-like value with every string (and dict key) masked."""
        return self._value(obj, key="")

    def _value(self, obj: JSONValue, *, key: str) -> JSONValue:
        if isinstance(obj, str):
            cat = _KEY_CATEGORIES.get(key.lower())
            if cat and obj.strip() and not is_mask(obj) and not is_ip(obj):
                if cat == "host":
                    if obj.strip().lower().rstrip(".") in self._keep_hosts:
                        return obj
                    return self.mask_host(obj)
                return self._mask(obj.strip().lower(), cat)
            return self._text(obj, versions=bool(_VERSION_KEY_RE.search(key)))
        if isinstance(obj, Mapping):
            return {
                (self.text(k) if isinstance(k, str) else k): self._value(v, key=k if isinstance(k, str) else "")
                for k, v in obj.items()
            }
        if isinstance(obj, list):
            return [self._value(v, key=key) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self._value(v, key=key) for v in obj)
        return obj


# The two look-behind checks below run once per candidate address. Searching the
# whole text before each candidate (``pattern.search(s, 0, start)``) made a text
# of many addresses quadratic (64 KB took 14 s); both patterns end at ``start``
# and can only match its last few characters, so a short window gives the same
# answer. Look-behinds and ``\b`` still see the characters before the window.

def _hex_run_before(s: str, start: int) -> bool:
    """A hex group and separator (or ``::``) right before ``start``: a longer run's tail."""
    # at most "ffff:" (5 characters), plus a newline that ``$`` may stand before
    return _HEX_RUN_BEFORE_RE.search(s, max(0, start - 8), start) is not None


def _version_before(s: str, start: int) -> bool:
    """"version", "build: " ... right before ``start``: the dotted quad is a version."""
    # The separator ``\s*[:=]?\s*`` has no length bound: skip it by hand (it lies
    # between the previous candidate and this one, so the skips add up to the text's
    # length), then the keyword is at most 7 characters before it.
    k = start
    while k > 0 and s[k - 1].isspace():
        k -= 1
    if k > 0 and s[k - 1] in ":=":
        k -= 1
    while k > 0 and s[k - 1].isspace():
        k -= 1
    return _VERSION_BEFORE_RE.search(s, max(0, k - 8), start) is not None


def _is_netmask(ip: ipaddress.IPv4Address) -> bool:
    """255.255.255.0 and friends: the same on every network, and needed to read a config."""
    inverted = ~int(ip) & 0xFFFFFFFF
    return int(ip) != 0 and inverted & (inverted + 1) == 0


def _strings(v: JSONValue) -> list[str]:
    """Every string inside a settings value, however it is nested."""
    if isinstance(v, str):
        return [v]
    if isinstance(v, Mapping):
        return [s for x in v.values() for s in _strings(x)]
    if isinstance(v, (list, tuple)):
        return [s for x in v for s in _strings(x)]
    return []


def redact(report: Report, redactor: Redactor | None = None) -> Report:
    """A copy of ``report`` with ``redacted=True`` and everything identifying masked.

    Pass a ``redactor`` to share its mapping with other material (a support
    bundle's log); it should come from :meth:`Redactor.for_report` so that the
    report's own names are known. The walk follows the report's order so that
    ``#1`` is the first address a reader meets.
    """
    r = redactor if redactor is not None else Redactor.for_report(report)

    def mapping(m: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
        out = r.value(dict(m))
        assert isinstance(out, dict)
        return out

    return replace(
        report,
        host=mapping(report.host),
        settings=mapping(report.settings),
        probes=tuple(
            replace(p, reason=r.text(p.reason), values=mapping(p.values), reason_params=mapping(p.reason_params))
            for p in report.probes
        ),
        findings=tuple(Finding(f.id, f.severity, mapping(f.evidence)) for f in report.findings),
        unmeasured=tuple(Unmeasured(r.text(u.what), r.text(u.why)) for u in report.unmeasured),
        extra=mapping(report.extra),
        redacted=True,
    )

"""Settings from a TOML file and the command line, validated in one place.

A vendor ships one ``clinicnet.toml`` for its fleet (targets, checks, language);
command-line options override it. Everything a user can get wrong becomes a
``UsageError`` with one clear line, never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from clinicnet.errors import UsageError
from clinicnet.netaddr import valid_host
from clinicnet.probes.internet import DEFAULT_CHECKS, parse_check

#: where ``diagnose`` looks for a config file when --config is not given
CONFIG_ENV = "CLINICNET_CONFIG"
MAX_TIMEOUT = 120.0




@dataclass(frozen=True)
class Settings:
    targets: tuple[str, ...] = ()
    reflectors: tuple[str, ...] = ()
    internet_checks: tuple[str, ...] = DEFAULT_CHECKS
    dns_names: tuple[str, ...] = ()
    vpn_processes: tuple[str, ...] = ()
    timeout: float = 5.0
    lang: str | None = None
    redact: bool = False
    json: str | None = None
    html: str | None = None
    markdown: str | None = None
    output_dir: str | None = None
    quiet: bool = False
    #: ``diagnose --long [SECONDS]``: also the probes that take minutes (NAT binding lifetime),
    #: their longest wait capped at this many seconds; 0 = not run
    long: float = 0.0

    def public(self) -> dict[str, Any]:
        """The settings as recorded in the report (no file paths of the PC)."""
        return {
            "targets": list(self.targets),
            "reflectors": list(self.reflectors),
            "internet_checks": list(self.internet_checks),
            "dns_names": list(self.dns_names),
            "timeout": self.timeout,
        }


_LIST_KEYS = {"targets", "reflectors", "internet_checks", "dns_names", "vpn_processes"}
_KNOWN = {f.name for f in fields(Settings)}
#: singular spellings accepted in the file, as on the command line
_ALIASES = {"target": "targets", "reflector": "reflectors", "internet_check": "internet_checks", "dns_name": "dns_names"}


def load_file(path: str) -> dict[str, Any]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None
    # Accept either top-level keys or a [clinicnet] table.
    table = data.get("clinicnet", data)
    if not isinstance(table, dict):
        raise UsageError(f"config file {path}: [clinicnet] must be a table")
    out: dict[str, Any] = {}
    for key, value in table.items():
        k = _ALIASES.get(key.replace("-", "_"), key.replace("-", "_"))
        if k not in _KNOWN:
            raise UsageError(f"config file {path}: unknown setting {key!r}")
        if k in _LIST_KEYS:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"config file {path}: {key} must be a list of strings")
            value = tuple(value)
        out[k] = value
    return out


def build(cli: Mapping[str, Any], config_path: str | None = None) -> Settings:
    """Merge defaults < config file < command line, and validate."""
    path = config_path or os.environ.get(CONFIG_ENV) or None
    merged: dict[str, Any] = load_file(path) if path else {}
    for key, value in cli.items():
        if value is None or (key in _LIST_KEYS and not value) or (isinstance(value, bool) and not value and key in merged):
            continue
        merged[key] = tuple(value) if key in _LIST_KEYS else value
    try:
        s = Settings(**merged)
    except TypeError as exc:
        raise UsageError(f"bad settings: {exc}") from None
    return validate(s)


def validate(s: Settings) -> Settings:
    if not isinstance(s.timeout, (int, float)) or isinstance(s.timeout, bool) or not 0 < s.timeout <= MAX_TIMEOUT:
        raise UsageError(f"timeout must be a number of seconds between 0 and {MAX_TIMEOUT:g}, not {s.timeout!r}")
    if not isinstance(s.long, (int, float)) or isinstance(s.long, bool) or not 0 <= s.long <= 180:
        raise UsageError(f"long must be a number of seconds up to 180 (0 = off), not {s.long!r}")
    if s.lang not in (None, "ja", "en"):
        raise UsageError(f"language must be ja or en, not {s.lang!r}")
    for host in s.targets + s.reflectors:
        if not valid_host(host):
            raise UsageError(f"not a host name or IP address: {host!r}")
    for name in s.dns_names:
        if not valid_host(name):
            raise UsageError(f"not a DNS name: {name!r}")
    for url in s.internet_checks:
        try:
            parse_check(url)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if not s.internet_checks:
        raise UsageError("at least one internet check is needed")
    return s

"""Settings from a TOML file and the command line, validated in one place.

A vendor ships one ``clinicnet.toml`` for its fleet (targets, checks, language);
command-line options override it. Everything a user can get wrong becomes a
``UsageError`` with one clear line, never a traceback.
"""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from clinicnet.errors import UsageError
from clinicnet.netaddr import valid_host
from clinicnet.probes.internet import DEFAULT_CHECKS, parse_check

if TYPE_CHECKING:
    from clinicnet.probes.interface import ProbeOption

#: where ``diagnose`` looks for a config file when --config is not given
CONFIG_ENV = "CLINICNET_CONFIG"
MAX_TIMEOUT = 120.0
#: a fleet's config is a few hundred bytes; reading stops here
MAX_CONFIG_BYTES = 1024 * 1024


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
    #: settings that probes declare themselves (``ProbeSpec.settings``), by name; only those given
    probe_settings: Mapping[str, Any] = field(default_factory=dict)
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
            **{k: list(v) if isinstance(v, tuple) else v for k, v in sorted(self.probe_settings.items())},
        }


def probe_options() -> dict[str, ProbeOption]:
    """The settings probes declare, by name (imports the probe SPECs: only when a command needs them)."""
    from clinicnet.probes import registry

    return {o.name: o for spec in registry.specs() for o in spec.settings}


def _coerce_probe_setting(opt: ProbeOption, value: Any, where: str) -> Any:
    if opt.kind == "bool":
        return _coerce(opt.name, value, bool, where)
    hosts = _coerce(opt.name, value, tuple[str, ...], where)
    for h in hosts:
        if not valid_host(h):
            raise UsageError(f"{where}{opt.name}: not a host name or IP address: {h!r}")
    return hosts


_KNOWN = {f.name for f in fields(Settings)} - {"probe_settings"}
#: singular spellings accepted in the file, as on the command line
_ALIASES = {"target": "targets", "reflector": "reflectors", "internet_check": "internet_checks", "dns_name": "dns_names"}
#: how each setting is spelled in a message: the file's key, or the option
_OPTION = {"targets": "--target", "reflectors": "--reflector", "internet_checks": "--internet-check",
           "dns_names": "--dns-name", "output_dir": "--output-dir"}


def _schema() -> dict[str, Any]:
    """Each setting's type, read from the dataclass: the one schema for file and command line.

    Probe-declared settings are typed by their ``ProbeOption.kind`` instead.
    """
    hints = typing.get_type_hints(Settings)
    hints.pop("probe_settings")
    return hints


def _coerce(name: str, value: Any, tp: Any, where: str) -> Any:
    """``value`` as the type ``tp`` of setting ``name``, or one clear ``UsageError``.

    Strict on purpose: TOML has real booleans and numbers, so ``redact = "no"`` or
    ``json = 5`` is a mistake to report, not a value to guess at (``bool("no")`` is
    True).
    """
    label = f"{where}{name}"
    origin = typing.get_origin(tp)
    if origin is tuple:  # tuple[str, ...]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{label} must be a list of strings, not {_shown(value)}")
        return tuple(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise UsageError(f"{label} must be true or false, not {_shown(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{label} must be a number, not {_shown(value)}")
        return float(value)
    if value is None and type(None) in typing.get_args(tp):
        return None
    if str in typing.get_args(tp) or tp is str:
        if not isinstance(value, str):
            raise UsageError(f"{label} must be a text string, not {_shown(value)}")
        if "\0" in value:
            raise UsageError(f"{label} must not contain a NUL character")
        return value
    raise AssertionError(f"setting {name} has a type the schema does not know: {tp!r}")


def _shown(value: Any) -> str:
    """A wrong value, short enough for one line."""
    text = ("true" if value else "false") if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)  # /dev/zero is a file name too
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # an embedded NUL in the name
        raise UsageError(f"cannot read config file {path!r}: {exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(f"config file {path} is larger than {MAX_CONFIG_BYTES // 1024} KB: not a clinicnet config")
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise UsageError(f"config file {path} is nested too deeply to be a clinicnet config") from None
    # Accept either top-level keys or a [clinicnet] table.
    table = data.get("clinicnet", data)
    if not isinstance(table, dict):
        raise UsageError(f"config file {path}: [clinicnet] must be a table")
    schema = _schema()
    out: dict[str, Any] = {}
    probe_settings: dict[str, Any] = {}
    for key, value in table.items():
        k = _ALIASES.get(key.replace("-", "_"), key.replace("-", "_"))
        if k in _KNOWN:
            out[k] = _coerce(key, value, schema[k], f"config file {path}: ")
            continue
        opt = probe_options().get(k)
        if opt is None:
            raise UsageError(f"config file {path}: unknown setting {key!r}")
        probe_settings[k] = _coerce_probe_setting(opt, value, f"config file {path}: ")
    if probe_settings:
        out["probe_settings"] = probe_settings
    return out


def build(cli: Mapping[str, Any], config_path: str | None = None) -> Settings:
    """Merge defaults < config file < command line, and validate.

    ``cli`` holds the command line's values, None (or an empty list, or a False
    flag) where the option was not given.
    """
    path = config_path or os.environ.get(CONFIG_ENV) or None
    merged: dict[str, Any] = load_file(path) if path else {}
    schema = _schema()
    given = {k: v for k, v in (cli.get("probe_settings") or {}).items() if v not in (None, [], (), False)}
    if given:
        options = probe_options()
        merged["probe_settings"] = {**merged.get("probe_settings", {}), **{
            k: _coerce_probe_setting(options[k], v, options[k].flag + ": ") for k, v in given.items()}}
    for key, value in cli.items():
        if key == "probe_settings":
            continue
        if key not in schema:
            raise AssertionError(f"unknown setting {key!r} from the command line")
        list_key = typing.get_origin(schema[key]) is tuple
        if value is None or (list_key and not value) or (value is False and key in merged):
            continue
        merged[key] = _coerce(key, value, schema[key], _OPTION.get(key, "--" + key.replace("_", "-")) + ": ")
    return validate(Settings(**merged))


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

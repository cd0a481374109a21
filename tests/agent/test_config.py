"""Settings: file < command line, and one clear line for every bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicnet.agent.config import UsageError, build
from clinicnet.probes.internet import DEFAULT_CHECKS


def test_defaults():
    s = build({})
    assert s.internet_checks == DEFAULT_CHECKS
    assert s.timeout == 5.0 and s.targets == ()


def test_file_then_cli_override(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[clinicnet]\ntarget = "gw.example.jp"\ntimeout = 3\nlang = "ja"\n'
                   'internet-checks = ["http://203.0.113.80/"]\n', encoding="utf-8")
    s = build({"timeout": 7.0, "targets": [], "lang": None}, str(cfg))
    assert s.targets == ("gw.example.jp",)
    assert s.timeout == 7.0
    assert s.lang == "ja"
    assert s.internet_checks == ("http://203.0.113.80/",)
    s2 = build({"targets": ["192.0.2.10"]}, str(cfg))
    assert s2.targets == ("192.0.2.10",)


def test_config_from_environment(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('targets = ["192.0.2.10"]\n')
    monkeypatch.setenv("CLINICNET_CONFIG", str(cfg))
    assert build({}).targets == ("192.0.2.10",)


@pytest.mark.parametrize("content,message", [
    ("targets = [1, 2]", "list of strings"),
    ("nonsense = 1", "unknown setting"),
    ("timeout = ", "not valid TOML"),
    ("timeout = -1", "timeout must be"),
    ("timeout = 'x'", "timeout must be"),
    ("lang = 'fr'", "language must be"),
    ("targets = ['bad host!']", "not a host name"),
    ("internet_checks = ['ftp://x']", "unsupported check URL"),
    ("internet_checks = ['tcp://203.0.113.1']", "needs a port"),
    ("internet_checks = ['http://203.0.113.1:99999/']", "invalid port"),
    ("internet_checks = []", "at least one"),
    # wrong types: a TypeError traceback, or a silent wrong value, before the schema
    ("json = 5", "json must be a text string, not 5"),
    ("html = 1.5", "html must be a text string, not 1.5"),
    ("markdown = ['a.md']", "markdown must be a text string"),
    ("output_dir = true", "output_dir must be a text string, not true"),
    ('redact = "no"', "redact must be true or false, not 'no'"),
    ('quiet = "no"', "quiet must be true or false, not 'no'"),
    ("quiet = 0", "quiet must be true or false, not 0"),
    ("lang = 5", "lang must be a text string"),
    ("timeout = true", "timeout must be a number, not true"),
    ("timeout = nan", "timeout must be"),
    ("timeout = inf", "timeout must be"),
    ("vpn_processes = [[]]", "list of strings"),
    ('json = "a\\u0000b"', "NUL"),
    ("[clinicnet.html]\nx = 1", "html must be a text string"),
    ("targets = " + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    # what the resolver would read as an address is no host name
    ("targets = ['256.1.1.1']", "not a host name or IP address"),
    ("targets = ['1.2.3']", "not a host name or IP address"),
    ("reflectors = ['0x7f000001']", "not a host name or IP address"),
    ("dns_names = ['10.0.0.1.5']", "not a DNS name"),
    ("internet_checks = ['http://256.1.1.1/']", "invalid host name"),
])
def test_bad_config_is_one_clear_error(tmp_path, content, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(content)
    with pytest.raises(UsageError, match=message):
        build({}, str(cfg))


def test_missing_and_binary_config(tmp_path):
    with pytest.raises(UsageError, match="cannot read config"):
        build({}, str(tmp_path / "nope.toml"))
    bad = tmp_path / "b.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UsageError, match="not valid TOML"):
        build({}, str(bad))


def test_booleans_and_strings_of_the_right_type_are_kept(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('redact = true\nquiet = false\njson = "out.json"\ntimeout = 2\nvpn_processes = "MyVpn.exe"\n')
    s = build({}, str(cfg))
    assert s.redact is True and s.quiet is False and s.json == "out.json"
    assert s.timeout == 2.0 and isinstance(s.timeout, float) and s.vpn_processes == ("MyVpn.exe",)


def test_a_command_line_flag_overrides_the_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("redact = false\n")
    assert build({"redact": True}, str(cfg)).redact is True
    assert build({"redact": None}, str(cfg)).redact is False


@pytest.mark.parametrize("host", ["256.1.1.1", "1.2.3", "0x7f.1", "0x7f000001", "2130706433", "x.123"])
def test_what_the_resolver_reads_as_an_address_is_no_target(host):
    with pytest.raises(UsageError, match="not a host name or IP address"):
        build({"targets": [host]})


@pytest.mark.parametrize("host", ["vpn-gw.example.jp", "gw1", "123.example", "deadbeef", "192.0.2.1", "2001:db8::1",
                                  "fe80::1%eth0", "host."])
def test_names_and_addresses_are_targets(host):
    assert build({"targets": [host]}).targets == (host,)


# --- any value of any TOML type: a typed Settings or one UsageError, nothing else ---------------


def _toml(v):  # type: ignore[no-untyped-def]
    import json
    import math

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(x)}" for k, x in v.items()) + "}"


_SCALARS = st.one_of(st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True), st.text(max_size=20),
                     st.sampled_from(["ja", "en", "192.0.2.1", "gw.example.jp", "http://192.0.2.1/", "out.json"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=5), inner, max_size=2)),
                       max_leaves=6)
_KEYS = ["targets", "reflectors", "internet_checks", "dns_names", "vpn_processes", "timeout", "lang", "redact",
         "json", "html", "markdown", "output_dir", "quiet"]


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=4))
def test_any_config_values_give_typed_settings_or_one_usage_error(tmp_path_factory, table):  # type: ignore[no-untyped-def]
    cfg = tmp_path_factory.mktemp("cfg") / "c.toml"
    cfg.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in table.items()), encoding="utf-8")
    try:
        s = build({}, str(cfg))
    except UsageError as exc:
        assert "\n" not in str(exc)
        return
    for name in ("targets", "reflectors", "internet_checks", "dns_names", "vpn_processes"):
        assert all(isinstance(x, str) for x in getattr(s, name))
    assert isinstance(s.timeout, float) and 0 < s.timeout <= 120
    assert isinstance(s.redact, bool) and isinstance(s.quiet, bool)
    for name in ("json", "html", "markdown", "output_dir"):
        assert getattr(s, name) is None or isinstance(getattr(s, name), str)

"""Settings: file < command line, and one clear line for every bad input."""

from __future__ import annotations

import pytest

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

"""The registry finds probe modules by looking, and listing them stays cheap."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from clinicnet.probes import registry
from clinicnet.probes.interface import ProbeSpec


def _fresh(code: str) -> str:
    """Run ``code`` in a fresh interpreter (imports are what is measured); its stdout."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_discovery_finds_every_probe_module_in_order() -> None:
    specs = registry.specs()
    assert [s.order for s in specs] == sorted(s.order for s in specs)
    assert all(isinstance(s, ProbeSpec) for s in specs)
    for s in specs:
        assert registry.get(s.name) is s
        assert callable(registry.load(s))
    names = {s.name for s in specs}
    assert not any(n.startswith("_") for n in names) and not {"interface", "registry"} & names
    assert registry.get("no_such_probe") is None
    assert registry.title("no_such_probe", "ja") == "no_such_probe"


def test_listing_the_probes_imports_no_wire_code_and_no_psutil() -> None:
    out = _fresh(
        """
        import sys
        from clinicnet.probes import registry
        registry.specs()
        heavy = [m for m in sys.modules if m.startswith(("clinicnet.wire", "clinicnet.probes._exchange",
                 "clinicnet.probes.ike.", "psutil", "concurrent.futures", "cryptography", "rich"))]
        print(",".join(sorted(heavy)))
        """
    )
    assert out.strip() == ""


def test_help_does_not_import_the_registry() -> None:
    out = _fresh(
        """
        import contextlib, io, sys
        from clinicnet.agent import cli
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            cli.main(["--help"])
        print("clinicnet.probes.registry" in sys.modules, "clinicnet.probes.interface" in sys.modules)
        """
    )
    assert out.split() == ["False", "False"]


def test_options_are_the_context_fields_the_probe_reads() -> None:
    """``SPEC.options`` documents what a probe reads; it must say exactly that."""
    import ast
    import dataclasses
    from pathlib import Path

    from clinicnet.probes.interface import ProbeContext

    fields = {f.name for f in dataclasses.fields(ProbeContext)}
    always = {"deadline", "timeout", "remaining"}  # every probe lives by its deadline
    root = Path(registry.__file__).parent
    for spec in registry.specs():
        assert set(spec.options) <= fields, spec.name
        single = root / f"{spec.name}.py"
        paths = [single] if single.exists() else sorted((root / spec.name).glob("*.py"))
        read = {
            node.attr
            for p in paths
            for node in ast.walk(ast.parse(p.read_text("utf-8")))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ctx"
        }
        # ctx.setting(OPTION) reads what the probe declares in SPEC.settings
        assert ("setting" in read) == bool(spec.settings), spec.name
        assert read - always - {"setting"} == set(spec.options), spec.name

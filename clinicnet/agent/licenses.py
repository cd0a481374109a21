"""Licence texts for ``clinicnet --licenses``: ours and those of everything shipped with us.

The single-file executable carries the interpreter and every dependency inside
it, so the GPL (ours) and the dependencies' own licences (BSD, MIT, Apache, PSF)
require their texts to travel with the binary: the build writes
``THIRD_PARTY_NOTICES.txt`` (``packaging/notices.py``) and bundles it together
with ``LICENSE`` under ``licenses/``. A wheel or source install has no bundled
copy, but every installed distribution keeps its licence files in its metadata;
the same generator reads them there, so the command answers the same question in
both cases and the notices can never drift from what is really installed.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: the folder inside the frozen executable that holds LICENSE and the notices
BUNDLE_DIR = "licenses"
NOTICES_NAME = "THIRD_PARTY_NOTICES.txt"
LICENSE_NAME = "LICENSE"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_LICENSE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE)", re.IGNORECASE)
_RULE = "=" * 78
_THIN = "-" * 78


def is_frozen() -> bool:
    """True inside the PyInstaller executable (it sets ``sys.frozen`` and ``sys._MEIPASS``)."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def bundle_root() -> Path | None:
    """Where the executable unpacked its data files, or None outside one."""
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if is_frozen() and meipass else None


def canonical(name: str) -> str:
    """PEP 503 name, so ``Pygments``, ``pygments`` and ``markdown_it_py`` compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_distributions(roots: Iterable[str] = ("clinicnet",)) -> list[str]:
    """Installed distributions ``roots`` need at run time, roots first, then sorted.

    Requirements behind an ``extra ==`` marker are test/dev tools and never
    shipped; any other marker is decided by what is installed (a Windows-only
    dependency is simply absent on Linux), which avoids needing the
    ``packaging`` library at run time.
    """
    seen: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        key = canonical(name)
        if key in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            if key == "clinicnet":  # run from a checkout that was never pip-installed
                seen[key] = "clinicnet"
                todo.extend(m.group(1) for m in map(_NAME.match, _checkout_requirements()) if m)
            continue
        seen[key] = dist.metadata["Name"] or name
        for req in dist.requires or []:
            if _applies(req):
                m = _NAME.match(req)
                if m:
                    todo.append(m.group(1))
    root_keys = [canonical(r) for r in roots]
    first = [seen[k] for k in root_keys if k in seen]
    rest = sorted((v for k, v in seen.items() if k not in root_keys), key=str.lower)
    return first + rest


def _applies(req: str) -> bool:
    """Whether a requirement is needed here (no extra; its marker true on this Python)."""
    if "extra" in req.partition(";")[2]:
        return False
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        return True  # decided by what is installed
    try:
        marker = Requirement(req).marker
    except InvalidRequirement:
        return True
    return marker is None or bool(marker.evaluate())


def _checkout_requirements() -> list[str]:
    """``project.dependencies`` of the checkout's pyproject.toml (empty if there is none)."""
    import tomllib

    path = Path(__file__).resolve().parents[2] / "pyproject.toml"
    try:
        deps = tomllib.loads(path.read_text(encoding="utf-8"))["project"]["dependencies"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return []
    return [str(d) for d in deps]


def _license_files(dist: md.Distribution) -> list[tuple[str, str]]:
    """(file name, text) of a distribution's licence files, as its metadata lists them."""
    out: list[tuple[str, str]] = []
    for f in dist.files or []:
        if not _LICENSE_FILE.match(f.name):
            continue
        # Only files of the metadata folder (dist-info/ or dist-info/licenses/):
        # a package's own LICENSE module or test data is not a licence file.
        if not any(part.endswith((".dist-info", ".egg-info")) for part in f.parts[:-1]):
            continue
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out.append((f.name, text))
    return out


def _declared_license(dist: md.Distribution) -> str:
    meta: Any = dist.metadata  # an email.message.Message; the typeshed protocol lacks .get
    expr = meta.get("License-Expression")
    if expr:
        return str(expr)
    lic = (meta.get("License") or "").strip()
    if lic and "\n" not in lic and len(lic) < 100:
        return lic
    classifiers = [c.rsplit("::", 1)[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return "; ".join(classifiers) or (lic.splitlines()[0] if lic else "see the licence text below")


def _home(dist: md.Distribution) -> str:
    meta: Any = dist.metadata
    if meta.get("Home-page"):
        return str(meta["Home-page"])
    for url in meta.get_all("Project-URL") or []:
        label, _, link = url.partition(",")
        if label.strip().lower() in ("homepage", "home", "source", "repository", "source code"):
            return link.strip()
    return ""


def python_license() -> tuple[str, str] | None:
    """The interpreter's own licence (PSF), which the executable embeds."""
    candidates = [Path(sysconfig.get_path("stdlib")) / "LICENSE.txt", Path(sys.base_prefix) / "LICENSE.txt"]
    for p in candidates:
        try:
            return p.name, p.read_text(encoding="utf-8")
        except OSError:
            continue
    return None


def notices(distributions: Iterable[str], *, include_python: bool = True, extra_sections: Iterable[str] = ()) -> str:
    """The third-party notices text: one section per distribution with its licence files."""
    parts = [
        "Third-party software shipped with clinicnet",
        "",
        "clinicnet is licensed under the GNU General Public License version 2 only",
        "(GPL-2.0-only, see LICENSE). The single-file executable also contains the",
        "software below, each under its own licence, reproduced here as its",
        "authors distribute it.",
        "",
    ]
    if include_python:
        lic = python_license()
        parts += [_RULE, f"Python {sys.version.split()[0]} (interpreter and standard library)",
                  "License: PSF-2.0", "Home: https://www.python.org/", _THIN]
        parts.append(lic[1].rstrip() if lic else "(the Python licence text was not found on the build machine)")
        parts.append("")
    for name in distributions:
        if canonical(name) == "clinicnet":
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        parts += [_RULE, f"{dist.metadata['Name']} {dist.version}", f"License: {_declared_license(dist)}"]
        home = _home(dist)
        if home:
            parts.append(f"Home: {home}")
        files = _license_files(dist)
        if not files:
            parts += [_THIN, "(no licence file in the installed metadata; see the declared licence above)", ""]
        for fname, text in files:
            parts += [_THIN, f"[{fname}]", text.rstrip(), ""]
    for section in extra_sections:
        parts += [_RULE, section.rstrip(), ""]
    return "\n".join(parts).rstrip() + "\n"


def _source_license() -> str | None:
    """LICENSE of a checkout (editable install) or of the installed wheel's metadata."""
    here = Path(__file__).resolve().parents[2] / LICENSE_NAME
    if here.is_file():
        return here.read_text(encoding="utf-8")
    try:
        for name, text in _license_files(md.distribution("clinicnet")):
            if name.upper().startswith("LICENSE"):
                return text
    except md.PackageNotFoundError:
        pass
    return None


def licenses_text() -> str:
    """Everything ``clinicnet --licenses`` prints: our licence, then the notices."""
    from clinicnet import __version__

    root = bundle_root()
    if root is not None:
        lic_path = root / BUNDLE_DIR / LICENSE_NAME
        not_path = root / BUNDLE_DIR / NOTICES_NAME
        own = lic_path.read_text(encoding="utf-8") if lic_path.is_file() else None
        third = not_path.read_text(encoding="utf-8") if not_path.is_file() else None
    else:
        own = _source_license()
        third = notices(runtime_distributions(), include_python=False)
    head = (
        f"clinicnet {__version__} is free software: GNU General Public License version 2 only "
        "(GPL-2.0-only).\nIt comes with ABSOLUTELY NO WARRANTY. The full texts follow.\n"
    )
    return "\n".join([
        head,
        _RULE, "clinicnet: LICENSE", _RULE,
        own.rstrip() if own else "(LICENSE not found: see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)",
        "",
        third.rstrip() if third else "(third-party notices missing from this build)",
        "",
    ])

#!/usr/bin/env python3
"""Write THIRD_PARTY_NOTICES.txt for the single-file executable.

Run by ``packaging/build-exe.sh`` (and by the spec, so a bare ``pyinstaller
packaging/clinicnet.spec`` cannot ship stale notices) against the environment
that is about to be frozen: the notices then name exactly the versions inside
the binary. The texts come from each installed distribution's own licence files,
never from a hand-kept list, because a hand-kept list is wrong after the first
dependency upgrade. The generator itself lives in ``clinicnet.agent.licenses``
so that ``clinicnet --licenses`` on a pip install prints the same thing.

    python packaging/notices.py [--frozen] [--with scapy] [-o FILE]
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from clinicnet.agent import licenses  # noqa: E402

DEFAULT_OUTPUT = ROOT / "packaging" / licenses.NOTICES_NAME


def bootloader_section() -> str | None:
    """PyInstaller's bootloader is linked into the executable: its licence travels too."""
    try:
        dist = md.distribution("pyinstaller")
    except md.PackageNotFoundError:
        return None
    texts = [f.read_text(encoding="utf-8") for f in dist.files or [] if f.name.upper().startswith("COPYING")]
    head = (
        f"PyInstaller {dist.version} bootloader (the start-up code of the executable)\n"
        "License: GPL-2.0-or-later with the PyInstaller bootloader exception\n"
        "Home: https://pyinstaller.org/\n" + "-" * 78
    )
    return head + "\n" + (texts[0].rstrip() if texts else "(COPYING.txt not found)")


#: dependencies of our dependencies that the executable leaves out (see clinicnet.spec)
NOT_BUNDLED = ("pygments",)


def distributions(with_extra: list[str], *, frozen: bool = False) -> list[str]:
    """clinicnet's run-time closure plus optional bundled packages (e.g. scapy)."""
    dists = licenses.runtime_distributions(("clinicnet", *with_extra))
    if frozen:
        dists = [d for d in dists if licenses.canonical(d) not in NOT_BUNDLED]
    return dists


def generate(*, frozen: bool, with_extra: list[str]) -> str:
    extra = []
    if frozen:
        boot = bootloader_section()
        if boot:
            extra.append(boot)
    return licenses.notices(distributions(with_extra, frozen=frozen), include_python=frozen, extra_sections=extra)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT), help="file to write (- for stdout)")
    ap.add_argument("--frozen", action="store_true",
                    help="notices for the executable: add the Python interpreter and the PyInstaller bootloader")
    ap.add_argument("--with", dest="with_extra", action="append", default=[], metavar="DIST",
                    help="an optional distribution that is bundled too (repeatable), e.g. scapy")
    args = ap.parse_args(argv)
    missing = [d for d in args.with_extra if not _installed(d)]
    if missing:
        print(f"notices.py: not installed: {', '.join(missing)}", file=sys.stderr)
        return 2
    text = generate(frozen=args.frozen, with_extra=args.with_extra)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8", newline="\n")
        names = ", ".join(distributions(args.with_extra, frozen=args.frozen)[1:])
        print(f"notices.py: wrote {args.output} ({names})", file=sys.stderr)
    return 0


def _installed(name: str) -> bool:
    try:
        md.distribution(name)
        return True
    except md.PackageNotFoundError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())

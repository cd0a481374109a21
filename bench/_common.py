"""What every bench script shares (bench scripts run as ``python bench/NAME.py``, so this
directory is on ``sys.path``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def with_bytecode() -> None:
    """Measure what an installed clinicnet costs: with its ``.pyc`` files. A shell that sets
    PYTHONDONTWRITEBYTECODE makes every run compile clinicnet from source (50+ ms)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "clinicnet")], check=False,
                   stdout=subprocess.DEVNULL)

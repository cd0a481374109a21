"""A module that is imported on first use, so a probe module stays cheap to list.

The registry imports every probe module to read its ``SPEC`` (for ``clinicnet
report`` too, which never probes); the reflector engine and the wire codecs cost
tens of milliseconds and are needed only when the probe runs. Probes write::

    if TYPE_CHECKING:
        from clinicnet.probes import _exchange as R
    else:
        R = lazy("clinicnet.probes._exchange")

so mypy sees the real module. Every attribute access goes through
``importlib.import_module``: the import lock makes the first one safe from the
probe threads, and later ones are a ``sys.modules`` lookup.
"""

from __future__ import annotations

import importlib
from typing import Any


class _Lazy:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


def lazy(name: str) -> Any:
    """A stand-in for module ``name`` that imports it on the first attribute access."""
    return _Lazy(name)

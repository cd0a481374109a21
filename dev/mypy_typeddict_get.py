"""mypy plugin: ``td.get("key")`` on a TypedDict must name a declared key.

mypy checks ``td["key"]`` against a TypedDict but lets ``td.get("typo")`` through
(it returns ``object``). Rules read probe values with ``.get`` (a probe that did
not measure leaves keys out), so without this the probe->rule contract
(``Evidence.of(SPEC)``) would not be checked where it matters. Used by
``[tool.mypy] plugins`` in pyproject.toml; development only, never imported by
clinicnet itself.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.plugin import MethodContext, Plugin
from mypy.plugins.default import typed_dict_get_callback
from mypy.typeops import try_getting_str_literals
from mypy.types import Type, TypedDictType, get_proper_type


def _checked_get(ctx: MethodContext) -> Type:
    td = get_proper_type(ctx.type)
    if isinstance(td, TypedDictType) and ctx.args and ctx.args[0]:
        keys = try_getting_str_literals(ctx.args[0][0], ctx.arg_types[0][0]) or []
        for key in keys:
            if key not in td.items:
                name = td.fallback.type.name if td.fallback else "TypedDict"
                ctx.api.fail(f'TypedDict "{name}" has no key "{key}" (declare it in the probe\'s Values)', ctx.context)
    return typed_dict_get_callback(ctx)


class TypedDictGetPlugin(Plugin):
    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        return _checked_get if fullname == "typing.Mapping.get" else None


def plugin(version: str) -> type[Plugin]:
    return TypedDictGetPlugin

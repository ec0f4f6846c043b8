"""Modules imported when first used, so that ``import udfs`` and a cell of catalog names need no numpy.

``np = lazy("numpy", globals(), "np")`` binds a stand-in; the first attribute read imports the module and
rebinds the global to it, so later reads cost nothing extra.
"""

from __future__ import annotations

import importlib


class _Lazy:
    __slots__ = ("_name", "_namespace", "_alias")

    def __init__(self, name: str, namespace: dict, alias: str):
        self._name, self._namespace, self._alias = name, namespace, alias

    def __getattr__(self, attr):
        module = importlib.import_module(self._name)
        if self._namespace.get(self._alias) is self:
            self._namespace[self._alias] = module
        return getattr(module, attr)

    def __repr__(self):
        return f"<module {self._name!r}, imported when first used>"


def lazy(name: str, namespace: dict, alias: str):
    """A stand-in for module ``name`` bound as ``alias`` in ``namespace`` (or the module, if already imported)."""
    import sys
    return sys.modules.get(name) or _Lazy(name, namespace, alias)

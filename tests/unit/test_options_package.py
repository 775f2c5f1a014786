"""The pyns.options package: its names, imported lazily."""
from __future__ import annotations

import importlib

from pyns import options


def test_the_lazy_options_package_exports_what_it_lists():
    """pyns.options imports each parser's module on first use: every name in
    __all__ must map to the module that defines it."""
    assert set(options._MODULE_OF) == set(options.__all__)
    for name, module in options._MODULE_OF.items():
        assert getattr(options, name) is getattr(importlib.import_module(f"pyns.options.{module}"), name)

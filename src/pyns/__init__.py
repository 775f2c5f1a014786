"""pyns: a container engine for Linux (Python engine, small C core).

    import pyns
    engine = pyns.Engine()
    out = engine.containers.run("busybox", ["echo", "hi"], remove=True)
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Engine", "errors", "__version__"]

# The modules a container start imports say `TYPE_CHECKING = False` and
# import typing's names under `if TYPE_CHECKING:`: type checkers read the
# block, the interpreter never imports typing (~4 ms of every CLI start on
# the dev machine). Annotations are strings (`from __future__ import
# annotations`), so they need nothing at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyns.engine import Engine


def __getattr__(name: str) -> Any:
    # Lazy: `import pyns` stays cheap for the CLI's start-up path.
    if name == "Engine":
        from pyns.engine import Engine

        return Engine
    if name == "errors":
        import pyns.errors

        return pyns.errors
    raise AttributeError(name)

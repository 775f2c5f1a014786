"""pyns: a container engine for Linux (Python engine, small C core).

    import pyns
    engine = pyns.Engine()
    out = engine.containers.run("busybox", ["echo", "hi"], remove=True)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Engine", "errors", "__version__"]

if TYPE_CHECKING:
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

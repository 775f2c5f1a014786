"""Entry point of the `pyns` command: the fast path first, click otherwise.

`pyns run` and the other container verbs, in their plain forms, are parsed by
pyns.cli.quick without importing click (which costs more than starting a
container); everything else, and every argv the fast path is unsure of,
goes to the click group in pyns.cli.group. Both end here: one
``Error: ...`` line on stderr and docker's exit codes (125 engine or usage
error, 126/127 when the command cannot run, else the container's code).
"""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Callable, NoReturn


def exit_with(call: Callable[[], object]) -> NoReturn:
    """Run call and exit with its code, engine errors and signals mapped like docker's CLI."""
    from pyns.errors import PynsError

    try:
        rv = call()
    except PynsError as e:
        print(f"Error: {e}", file=sys.stderr, flush=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(141)
    sys.exit(rv if isinstance(rv, int) else 0)


def main(argv: list[str] | None = None) -> NoReturn:
    args = sys.argv[1:] if argv is None else list(argv)
    from pyns.cli import quick

    parsed = quick.parse(args)
    if parsed is None:
        from pyns.cli import group

        group.main(args)
    obj, verb, params = parsed
    exit_with(lambda: quick.call(obj, verb, params))


def run_as_program() -> NoReturn:
    """main(), then exit the process without the interpreter's teardown.

    Freeing every module and object at exit costs a short-lived CLI ~13 ms,
    as much as a container's whole start. What of it matters runs first,
    in the interpreter's own order: threading's exit hooks and waiting for
    non-daemon threads (the container-directory reaper), atexit callbacks,
    flushing stdout/stderr.
    Only for the `pyns` process itself: a caller of main() keeps its
    interpreter.
    """
    try:
        main()
    except SystemExit as e:
        code = e.code
    if isinstance(code, str):
        print(code, file=sys.stderr)
    code = 0 if code is None else code if isinstance(code, int) else 1
    if "threading" in sys.modules:
        # What the interpreter's own exit runs first: threading's exit hooks
        # (concurrent.futures wakes its idle workers there), then a join of
        # every non-daemon thread. A bare join would wait forever on a pool
        # worker whose executor was never shut down.
        sys.modules["threading"]._shutdown()
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # what Python itself exits with when the final flush fails
    os._exit(code)


if __name__ == "__main__":
    run_as_program()

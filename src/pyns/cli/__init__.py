"""The `pyns` command line: click commands that parse, call the engine, render."""
import time

#: When this process got as far as the CLI (interpreter up, nothing else imported):
#: the "cli" instant written to $PYNS_TIMINGS (pyns bench --via cli).
STARTED_NS = time.monotonic_ns()

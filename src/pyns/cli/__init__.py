"""The `pyns` command line: click commands that parse, call the engine, render."""

"""The fast path's parser (pyns.cli.quick) agrees with click on every argv it accepts."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyns.cli import quick, quickgen, quickspec
from pyns.cli.group import cli


def click_params(verb: str, args: list[str]) -> dict | None:
    """What click sets for `pyns VERB args`, or None when click rejects args."""
    cmd = cli.get_command(click.Context(cli), verb)
    try:
        with cmd.make_context(verb, list(args)) as ctx:
            return ctx.params
    except (click.ClickException, click.exceptions.Exit):
        return None


def test_committed_tables_match_the_click_commands():
    assert Path(quickspec.__file__).read_text() == quickgen.render(), \
        "stale: run `python -m pyns.cli.quickgen > src/pyns/cli/quickspec.py`"


@pytest.mark.parametrize("argv", [
    ["run", "img"],
    ["run", "--rm", "--network", "none", "img", "true"],
    ["run", "-it", "--name=x", "-eA=1", "-e", "B", "-p80:80", "-c", "1_0", "img", "sh", "-c", "echo --rm"],
    ["run", "--", "img", "--rm"],
    ["run", "--name", "-x", "img"],
    ["run", "-e=x", "img"],
    ["run", "--init", "--pull", "never", "img"],
    ["run", "--net", "host", "img", "a"],
    ["create", "--name", "c", "img", "a"],
    ["rm", "a", "-f", "b"],
    ["ps", "-aq", "--no-trunc"],
    ["stop", "-t", "3", "x"],
    ["exec", "-it", "c", "sh", "-c", "ls -l"],
    ["port", "c"],
    ["logs", "-n", "5", "c"],
    ["top", "c", "-o", "pid"],
    ["inspect", "-f", "{{.Id}}", "a", "b"],
    ["pull", "-q", "127.0.0.1:5000/img"],
    ["pull", "--platform", "linux/arm64/v8", "img"],
])
def test_plain_argvs_take_the_fast_path_and_match_click(argv):
    parsed = quick.parse(argv)
    assert parsed is not None
    _, verb, params = parsed
    assert params == click_params(verb, argv[1:])


@pytest.mark.parametrize("argv", [
    [], ["--help"], ["--version"], ["images"], ["create"], ["run"], ["rm"], ["exec", "c"], ["ps", "x"],
    ["port"], ["export", "-o", "f", "c"], ["inspect", "--type", "volume", "x"], ["run", "--help"], ["run", "--bogus", "img"],
    ["run", "--rm=1", "img"], ["run", "--pull", "MISSING", "img"], ["run", "-c", "x", "img"],
    ["run", "--env-file", "f", "img"], ["run", "--name"], ["--root"], ["--", "run", "img"],
    ["run", "-Z", "img"], ["run", "-iZ", "img"],
])
def test_anything_unusual_goes_to_click(argv):
    assert quick.parse(argv) is None


def test_global_options_and_their_environment_variables(monkeypatch):
    monkeypatch.setenv("PYNS_RUN", "/tmp/r")
    monkeypatch.setenv("PYNS_USERNS_REMAP", "")  # empty is unset, for click too
    obj, verb, _ = quick.parse(["--root", "/x", "run", "img"])
    assert (verb, obj) == ("run", {"root": "/x", "run_root": "/tmp/r", "userns_remap": None})


EXTRA_WORDS = ["-it", "-dit", "-eX=1", "-p8080:80", "-", "--", "=", "-e=", "--name=", "img", "true", "12", " 7",
               "1_0", "-1", "x", "missing", "never", "container", "--rm=1", "-Z", "", "-fv", "-t5", "-sKILL"]


@st.composite
def verb_and_args(draw):
    verb = draw(st.sampled_from(sorted(quickspec.COMMANDS)))
    words = st.sampled_from([*quickspec.COMMANDS[verb]["options"], *EXTRA_WORDS])
    return verb, draw(st.lists(words, max_size=8))


@settings(max_examples=600, deadline=None)
@given(verb_and_args())
def test_whatever_the_fast_path_accepts_click_parses_the_same(case):
    verb, args = case
    parsed = quick.parse([verb, *args])
    if parsed is None:
        return
    assert parsed[2] == click_params(verb, args)


def test_pyns_run_does_not_import_click(tmp_path):
    """The point of the fast path, checked in a fresh interpreter."""
    env = {**os.environ, "PYNS_ROOT": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    probe = ("import sys\nfrom pyns.cli import quick\n"
             "p = quick.parse(['run', '--rm', '--network', 'none', 'img', 'true'])\n"
             "assert p is not None\nimport pyns.cli.main, pyns.cli.running, pyns.cli.common\n"
             "print('click' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_pyns_launcher_starts_python_without_site(tmp_path):
    """bin/pyns, as setup.py installs it: sh starts this Python with -S, the
    site directories are added as paths, and the CLI runs."""
    launcher = Path(__file__).resolve().parents[2] / "bin" / "pyns"
    installed = tmp_path / "pyns"
    installed.write_text(launcher.read_text().replace("@PYTHON@", sys.executable))
    installed.chmod(0o755)
    src = str(Path(quick.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([str(installed), "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("pyns"), out.stderr
    probe = ("import sys, site\nprint(sys.flags.no_site, all(d in sys.path for d in site.getsitepackages()))\n"
             "raise SystemExit(0)\n")
    text = installed.read_text().replace("from pyns.cli.main import run_as_program  # noqa: E402\n\nrun_as_program()\n",
                                         probe)
    installed.write_text(text)
    out = subprocess.run([str(installed)], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["1", "True"], out.stderr


def test_the_fast_exit_runs_thread_hooks_then_waits_for_threads(tmp_path):
    """run_as_program's exit wakes an executor's idle workers (threading's exit
    hooks) and waits for a non-daemon thread before the process ends."""
    src = str(Path(quick.__file__).resolve().parents[2])
    probe = ("import sys, threading, time\nfrom concurrent.futures import ThreadPoolExecutor\n"
             "pool = ThreadPoolExecutor(2)\npool.submit(time.sleep, 0.1)\n"
             "threading.Thread(target=lambda: (time.sleep(0.2), print('thread done', flush=True))).start()\n"
             "sys.argv = ['pyns', '--version']\nfrom pyns.cli.main import run_as_program\nrun_as_program()\n")
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": src},
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1:] == ["thread done"]

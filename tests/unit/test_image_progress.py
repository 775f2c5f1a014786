"""Pull/push progress rendering: docker's plain lines, and in-place bars on a terminal."""
from __future__ import annotations

from pyns.cli.pulling import ProgressPrinter
from pyns.images.progress import ProgressEvent, Reporter


def test_plain_output_skips_byte_counts(capsys):
    printer = ProgressPrinter(tty=False)
    for event in [ProgressEvent("Pulling from library/busybox", "latest"), ProgressEvent("Pulling fs layer", "abc"),
                  ProgressEvent("Downloading", "abc", 10, 100), ProgressEvent("Pull complete", "abc"),
                  ProgressEvent("Digest: sha256:00")]:
        printer(event)
    assert capsys.readouterr().out == ("latest: Pulling from library/busybox\nabc: Pulling fs layer\n"
                                       "abc: Pull complete\nDigest: sha256:00\n")


def test_terminal_output_rewrites_layer_lines(capsys):
    printer = ProgressPrinter(tty=True)
    printer(ProgressEvent("Pulling fs layer", "aaa"))
    printer(ProgressEvent("Pulling fs layer", "bbb"))
    printer(ProgressEvent("Downloading", "aaa", 500, 1000))
    out = capsys.readouterr().out
    assert out.startswith("aaa: Pulling fs layer\nbbb: Pulling fs layer\n")
    assert "\x1b[2A\x1b[2K\raaa: Downloading [=========================>" in out and "500B/1kB" in out
    assert ProgressPrinter.bar(1000, 1000).startswith("[" + "=" * 50 + "]")


def test_reporter_throttles_byte_counts_but_not_the_last():
    seen = []
    report = Reporter(seen.append)
    for n in range(1, 101):
        report.bytes("Downloading", "x", n, 100)
    report("Download complete", "x")
    counts = [e.current for e in seen if e.is_progress]
    assert counts[0] == 1 and counts[-1] == 100 and len(counts) < 10
    assert seen[-1] == ProgressEvent("Download complete", "x")
    Reporter(None)("ignored")

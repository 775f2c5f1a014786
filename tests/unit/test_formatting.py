"""pyns.formatting reproduces the docker CLI's human output."""
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.formatting import (
    ZERO_TIME, bytes_size, container_status, created_ago, ellipsis, go_quote, human_duration, human_size,
    is_zero_time, join_command, parse_rfc3339, parse_rfc3339_ns, render_table, rfc3339_nano, short_id,
    tabwrite, truncate_command,
)

S, M, H = 1, 60, 3600
DAY, WEEK, MONTH, YEAR = 24 * H, 7 * 24 * H, 30 * 24 * H, 365 * 24 * H


@pytest.mark.parametrize("seconds,expected", [
    (0.45, "Less than a second"), (-10, "Less than a second"), (1, "1 second"), (45, "45 seconds"),
    (59, "59 seconds"), (60, "About a minute"), (119, "About a minute"), (3 * M, "3 minutes"),
    (35 * M + 40, "35 minutes"), (59 * M, "59 minutes"), (H, "About an hour"), (H + 29 * M, "About an hour"),
    (H + 31 * M, "2 hours"), (3 * H + 29 * M, "3 hours"), (3 * H + 31 * M, "4 hours"), (24 * H, "24 hours"),
    (DAY + 12 * H, "36 hours"), (2 * DAY, "2 days"), (13 * DAY + 5 * H, "13 days"), (2 * WEEK, "2 weeks"),
    (4 * WEEK + 3 * DAY, "4 weeks"), (MONTH, "4 weeks"), (MONTH + 2 * WEEK, "6 weeks"), (2 * MONTH, "2 months"),
    (5 * MONTH + 2 * WEEK, "5 months"), (24 * MONTH, "24 months"), (24 * MONTH + 2 * WEEK, "2 years"),
    (3 * YEAR + 2 * MONTH, "3 years"), (float("inf"), "292 years"), (float("nan"), "Less than a second"),
])
def test_human_duration(seconds, expected):
    assert human_duration(seconds) == expected
    if seconds == seconds and abs(seconds) < 1e12:
        assert human_duration(timedelta(seconds=seconds)) == expected


@given(st.floats(min_value=-1e12, max_value=1e12), st.floats(min_value=0, max_value=1e6))
def test_human_duration_monotonic_words(a, b):
    text = human_duration(a)
    assert text and human_duration(a + b) != ""


@pytest.mark.parametrize("size,expected", [
    (0, "0B"), (999, "999B"), (1000, "1kB"), (1024, "1.024kB"), (1000000, "1MB"), (1048576, "1.049MB"),
    (4261251, "4.261MB"), (3.42 * 1000**3, "3.42GB"), (5.372 * 1000**4, "5.372TB"), (2.22 * 1000**5, "2.22PB"),
    (10000000000000 * 1000**5, "1e+04YB"), (999.95, "1000B"), (-5, "-5B"), (float("inf"), "+InfYB"),
])
def test_human_size(size, expected):
    assert human_size(size) == expected


def test_human_size_precision_and_binary():
    assert human_size(4261251, 3) == "4.26MB"
    assert human_size(1234567890, 3) == "1.23GB"
    assert bytes_size(1024) == "1KiB" and bytes_size(1048576) == "1MiB"
    assert bytes_size(3.42 * 1024**3) == "3.42GiB" and bytes_size(5.372 * 1024**4) == "5.372TiB"
    assert bytes_size(1024**5 * 1024**5) == "1.049e+06YiB"
    assert bytes_size(0) == "0B"


def test_rfc3339_nano():
    dt = datetime(2026, 11, 28, 17, 55, 16, 123456, tzinfo=timezone.utc)
    assert rfc3339_nano(dt) == "2026-11-28T17:55:16.123456Z"
    assert rfc3339_nano(dt.replace(microsecond=120000)) == "2026-11-28T17:55:16.12Z"
    assert rfc3339_nano(dt.replace(microsecond=0)) == "2026-11-28T17:55:16Z"
    assert rfc3339_nano(dt.replace(tzinfo=None)) == "2026-11-28T17:55:16.123456Z"
    assert rfc3339_nano(dt.astimezone(timezone(timedelta(hours=2)))) == "2026-11-28T19:55:16.123456+02:00"
    assert rfc3339_nano(1_795_888_516_123_456_789) == "2026-11-28T17:55:16.123456789Z"
    assert rfc3339_nano(None) == rfc3339_nano(ZERO_TIME) == "0001-01-01T00:00:00Z"


def test_parse_rfc3339():
    assert parse_rfc3339("2026-11-28T17:55:16.123456789Z") == datetime(2026, 11, 28, 17, 55, 16, 123456, tzinfo=timezone.utc)
    assert parse_rfc3339("2026-11-28T19:55:16+02:00") == datetime(2026, 11, 28, 17, 55, 16, tzinfo=timezone.utc)
    assert parse_rfc3339_ns("1970-01-01T00:00:01.0000000019Z") == 1_000_000_001
    assert is_zero_time(parse_rfc3339("0001-01-01T00:00:00Z")) and is_zero_time(None)
    for bad in ["", "2026-11-28", "2026-13-01T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T17:55:16",
                "2026-11-28t17:55:16Z", "2026-11-28T17:55:16+25:00", "0000-01-01T00:00:00Z", "2026-11-28T17:55:60Z"]:
        with pytest.raises(InvalidArgument):
            parse_rfc3339(bad)


@given(st.integers(-(2**62), 2**62))
def test_rfc3339_round_trip(ns):
    text = rfc3339_nano(ns)
    assert parse_rfc3339_ns(text) == ns
    assert rfc3339_nano(parse_rfc3339(text)) == rfc3339_nano(ns - ns % 1000)


@given(st.datetimes(min_value=datetime(1, 1, 2), timezones=st.just(timezone.utc)))
def test_rfc3339_datetime_round_trip(dt):
    assert parse_rfc3339(rfc3339_nano(dt)) == dt


@given(st.text(max_size=40))
def test_parse_rfc3339_garbage(text):
    try:
        parse_rfc3339(text)
    except InvalidArgument:
        pass


NOW = datetime(2026, 11, 28, 17, 55, 16, 500000, tzinfo=timezone.utc)


def test_created_ago():
    assert created_ago(NOW - timedelta(seconds=5), NOW) == "5 seconds ago"
    assert created_ago(NOW.timestamp() - 3600, NOW) == "About an hour ago"
    # docker's Created is whole seconds: 0.9s after creation already shows "1 second"
    assert created_ago(datetime(2026, 11, 28, 17, 55, 15, 600000, tzinfo=timezone.utc), NOW) == "1 second ago"


@pytest.mark.parametrize("args,expected", [
    (("created", 0, None, None), "Created"),
    (("running", 0, NOW - timedelta(minutes=2), None), "Up 2 minutes"),
    (("running", 0, NOW - timedelta(milliseconds=300), None), "Up Less than a second"),
    (("running", 0, NOW - timedelta(hours=5), None, "healthy"), "Up 5 hours (healthy)"),
    (("running", 0, NOW - timedelta(hours=5), None, "starting"), "Up 5 hours (health: starting)"),
    (("paused", 0, NOW - timedelta(hours=5), None), "Up 5 hours (Paused)"),
    (("restarting", 1, NOW - timedelta(hours=5), NOW - timedelta(seconds=3)), "Restarting (1) 3 seconds ago"),
    (("exited", 0, NOW - timedelta(minutes=2), NOW - timedelta(seconds=5)), "Exited (0) 5 seconds ago"),
    (("exited", 137, NOW - timedelta(days=3), NOW - timedelta(days=2)), "Exited (137) 2 days ago"),
    (("exited", 0, ZERO_TIME, ZERO_TIME), "Created"),
    (("exited", 0, NOW, None), ""),
    (("dead", 0, NOW, NOW), "Dead"),
    (("removing", 0, NOW, NOW), "Removal In Progress"),
])
def test_container_status(args, expected):
    state, code, started, finished, *health = args
    assert container_status(state, code, started, finished, NOW, *health) == expected


def test_short_id():
    full = "90435eec5c4e124e741ef731e118be2fc799a68aba0466ec17717f24ce2ae6a2"
    assert short_id(full) == short_id("sha256:" + full) == "90435eec5c4e"
    assert short_id("1234") == "1234" and short_id("") == ""


@pytest.mark.parametrize("source,width,expected", [
    ("t🐳ststring", 0, ""), ("t🐳ststring", 1, "t"), ("t🐳ststring", 2, "t…"), ("t🐳ststring", 6, "t🐳st…"),
    ("t🐳ststring", 20, "t🐳ststring"), ("你好世界teststring", 1, "你"), ("你好世界teststring", 3, "你…"),
    ("你好世界teststring", 6, "你好…"), ("你好世界teststring", 20, "你好世界teststring"), ("abc", 3, "abc"),
    ("abcd", 3, "ab…"), ("", 1, ""),
])
def test_ellipsis(source, width, expected):
    assert ellipsis(source, width) == expected


def test_truncate_command():
    cmd = join_command("sh", ["-c", "while true; do sleep 1; done"])
    assert cmd == "sh -c 'while true; do sleep 1; done'"
    assert truncate_command(cmd) == "\"sh -c 'while true; …\""
    assert truncate_command(cmd, None) == "\"sh -c 'while true; do sleep 1; done'\""
    assert truncate_command("echo hi") == '"echo hi"'
    assert join_command("/bin/true", []) == "/bin/true"


def test_go_quote():
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("tab\tnl\nbell\a\x01\x7f") == '"tab\\tnl\\nbell\\a\\x01\\x7f"'
    assert go_quote("é日🐳") == '"é日🐳"'
    assert go_quote("\u00a0\u200b\U000e0001") == '"\\u00a0\\u200b\\U000e0001"'
    assert go_quote("bad\udcff") == '"bad\\xff"'


@given(st.text(max_size=40), st.one_of(st.none(), st.integers(-1, 40)))
def test_truncate_command_is_quoted(cmd, limit):
    out = truncate_command(cmd, limit)
    assert out.startswith('"') and out.endswith('"') and "\n" not in out


def test_render_table_like_docker_ps():
    table = render_table(
        ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
        [["4c01db0b339c", "busybox", '"sh"', "5 seconds ago", "Up 4 seconds", "", "x"],
         ["d7886598dbe2", "registry:5000/busybox:latest", '"sleep 1000"', "2 hours ago", "Exited (0) 2 hours ago",
          "0.0.0.0:8080->80/tcp", "a_long_name"]])
    assert table == (
        "CONTAINER ID   IMAGE                          COMMAND        CREATED         STATUS                   PORTS                  NAMES\n"
        "4c01db0b339c   busybox                        \"sh\"           5 seconds ago   Up 4 seconds                                    x\n"
        "d7886598dbe2   registry:5000/busybox:latest   \"sleep 1000\"   2 hours ago     Exited (0) 2 hours ago   0.0.0.0:8080->80/tcp   a_long_name\n"
    )
    assert render_table(["A", "B"], []) == "A         B\n"
    assert render_table(["NAME", "SIZE"], [["日本", "1B"]]) == "NAME      SIZE\n日本      1B\n"


def test_tabwrite_blocks():
    # a one-cell line ends a column block, as in text/tabwriter
    assert tabwrite("a\tb\nc\nlongervalue\td\n") == "a         b\nc\nlongervalue   d\n"


cells = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)


@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.lists(cells, min_size=n, max_size=n), st.lists(st.lists(cells, min_size=n, max_size=n), max_size=5))))
def test_render_table_columns_align(data):
    headers, rows = data
    table = [headers, *rows]
    out = render_table(headers, rows)
    lines = out.split("\n")
    assert out.endswith("\n") and len(lines) == len(table) + 1
    widths = [max(10, *(len(r[i]) + 3 for r in table)) for i in range(len(headers) - 1)]
    for line, row in zip(lines, table):
        assert line == "".join(c.ljust(w) for c, w in zip(row, widths)) + row[-1]

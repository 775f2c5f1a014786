"""pyns.bench.report and the `pyns bench` commands: output shape (synthetic results, no root)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pyns.bench import events, report
from pyns.bench.density import DensityOptions, DensityResult
from pyns.bench.peers import Skipped
from pyns.bench.startup import StartupOptions, StartupResult
from pyns.bench.throughput import TARGET_FACTOR, TARGET_PEER, Batch, ThroughputOptions, ThroughputResult
from pyns.cli.bench import bench, register
from pyns.errors import InvalidArgument

CONTEXT = {"kernel": "6.1", "cpus": 2, "cgroup": "v1", "root": "/r", "root_fs": "ext4", "image": "bb",
           "image_id": "sha256:" + "ab" * 32}


def pyns_trace(base: int) -> dict[str, int]:
    return {name: base + i * 1_000_000 for i, name in enumerate(events.EVENT_NAMES) if name != "cli"}


def startup_result() -> StartupResult:
    traces = {
        "pyns": [pyns_trace(0), pyns_trace(10**9)],
        "floor": [{"begin": 0, "clone": 10, "namespaces": 500_000, "execve": 900_000, "exit": 2_000_000}] * 2,
        "runc": [{"begin": 0, "end": 40_000_000}, {"begin": 0, "end": 60_000_000}],
    }
    return StartupResult(StartupOptions(runs=2, warmup=0, compare=("runc", "docker")), traces,
                         ["/l/bin/busybox", "true"], [Skipped("docker", "client installed, no daemon answers")],
                         ["a note"], CONTEXT)


def test_startup_dict_has_every_contender_ratio_and_phase():
    d = report.startup_dict(startup_result())
    json.dumps(d)
    assert set(d["contenders"]) == {"pyns", "floor", "runc"}
    assert d["contenders"]["runc"]["p50"] == 50.0
    total = d["contenders"]["pyns"]["p50"]
    assert total == len(events.EVENT_NAMES) - 1.0  # event i at i ms ("cli" absent: its phase goes to the next)
    assert d["ratios"]["runc"]["per_round"] == [total / 40, total / 60]
    assert set(d["ratios"]) == {"floor", "runc"}
    phases = [p["event"] for p in d["phases"]]
    assert set(events.REQUIRED) <= set(phases)
    assert all({"p50_ms", "p90_ms", "min_ms", "max_ms", "at_p50_ms", "label"} <= set(p) for p in d["phases"])
    assert d["skipped"] == [{"name": "docker", "reason": "client installed, no daemon answers"}]
    assert [p["event"] for p in d["floor_phases"]] == ["clone", "namespaces", "execve", "exit"]


def test_startup_text_shows_tables_every_phase_and_notes():
    text = report.startup_text(report.startup_dict(startup_result()))
    for needle in ("end to end, ms", "pyns / runc", "pyns / floor", "skipped: docker", "note: a note",
                   "execve `busybox true`", "host: kernel 6.1"):
        assert needle in text
    for name in events.REQUIRED:
        assert events.LABELS[name] in text
    header = next(ln for ln in text.splitlines() if ln.startswith("end to end"))
    assert header.split()[-5:] == ["min", "p50", "p90", "max", "mean"]


def docker_result(via: str, docker_ms: tuple[float, float]) -> StartupResult:
    """pyns takes 10 and 20 ms (the synthetic traces' span is len(EVENT_NAMES) - 1 ms; scaled here)."""
    r = startup_result()
    r.options = StartupOptions(runs=2, warmup=0, via=via, compare=("docker",))
    r.traces["pyns"] = [{"begin": 0, "end": 10_000_000}, {"begin": 0, "end": 20_000_000}]
    r.traces["docker"] = [{"begin": 0, "end": int(ms * 1e6)} for ms in docker_ms]
    r.skipped = []
    return r


def test_startup_target_is_judged_via_the_cli():
    d = report.startup_dict(docker_result("cli", (50.0, 300.0)))  # 5x and 15x: p50 10x, the factor exactly
    t = d["target"]
    assert t["peer"] == "docker" and t["factor"] == 10.0 and t["speedup_p50"] == 10.0
    assert t["applies"] and t["met"] is True
    assert "target: pyns run >= 10x faster than docker run (CLI to CLI, network none): " \
           "docker / pyns per round, p50: 10.00x, met" in report.startup_text(d)
    t = report.startup_dict(docker_result("cli", (40.0, 300.0)))["target"]
    assert t["speedup_p50"] == 9.5 and t["met"] is False


def test_startup_target_through_the_library_is_only_a_speedup():
    d = report.startup_dict(docker_result("library", (400.0, 400.0)))
    assert d["target"]["applies"] is False and d["target"]["met"] is None
    text = report.startup_text(d)
    assert "docker / pyns per round, p50: 30.00x (the 10x target is for --via cli --network none)" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("docker / pyns"))
    assert not line.startswith("target") and "met" not in line.split("(")[0]


def test_startup_without_docker_has_no_target():
    d = report.startup_dict(startup_result())
    assert d["target"] is None
    assert "target" not in report.startup_text(d)


def density_result() -> DensityResult:
    r = DensityResult(DensityOptions(count=2), start_ms=[20.0, 30.0], stop_ms=[5.0, 6.0], remove_ms=[3.0, 4.0],
                      wall_ms={"start": 50.0, "stop": 11.0, "remove": 7.0}, context=CONTEXT)
    r.monitors = [{"Rss": 800 << 10, "Pss": 300 << 10}] * 2
    r.containers = [{"Rss": 1 << 20, "Pss": 400 << 10}] * 2
    r.cgroups = [{"usage": 256 << 10, "kernel": 128 << 10}] * 2
    base = {"MemTotal": 1 << 30, "MemAvailable": 1 << 29, "Slab": 1 << 20}
    r.meminfo = {"before": base, "running": {**base, "Slab": (1 << 20) + (400 << 10)}, "after": base}
    return r


def test_density_dict_and_text():
    d = report.density_dict(density_result())
    json.dumps(d)
    assert set(d["timings_ms"]) == {"start", "stop", "remove"}
    per = d["per_container_bytes"]
    assert per["monitor_pss"] == 300 << 10 and per["kernel_delta"] == 200 << 10
    assert d["engine_per_container_bytes"] == 500 << 10
    assert d["left_after_remove_bytes"] == {"kernel": 0, "system": 0}
    text = report.density_text(d)
    assert "start (all 2: 50 ms)" in text and "pyns-monitor, PSS" in text and "500.00 KiB" in text


def test_cli_group_registers_and_validates():
    import click

    group = click.Group("pyns")
    register(group)
    assert "bench" in group.commands
    runner = CliRunner()
    assert "startup" in runner.invoke(bench, ["--help"]).output
    out = runner.invoke(bench, ["startup", "--help"]).output
    for flag in ("--runs", "--warmup", "--image", "--network", "--via", "--compare", "--json", "--root"):
        assert flag in out
    assert "--count" in runner.invoke(bench, ["density", "--help"]).output
    bad = runner.invoke(bench, ["startup", "--runs", "0"])
    assert isinstance(bad.exception, InvalidArgument)
    bad = runner.invoke(bench, ["startup", "--compare", "lxc"])
    assert isinstance(bad.exception, InvalidArgument) and "lxc" in str(bad.exception)
    assert runner.invoke(bench, ["startup", "--network", "host"]).exit_code == 2


def throughput_result(peers: tuple[str, ...] = ("runc", "crun")) -> ThroughputResult:
    batches = {"pyns": Batch([10.0, 20.0, 30.0, 40.0], 100.0)}  # 4 in 0.1 s: 40/s
    walls = {"runc": 400.0, "crun": 160.0}  # 10/s and 25/s
    batches.update({name: Batch([walls[name] / 4] * 4, walls[name]) for name in peers})
    return ThroughputResult(ThroughputOptions(count=4, warmup=1, compare=("runc", "crun", "podman")), batches,
                            [Skipped("podman", "not installed")], ["a note"], CONTEXT)


def test_throughput_dict_has_rates_times_ratios_and_the_target():
    d = report.throughput_dict(throughput_result())
    json.dumps(d)
    assert d["benchmark"] == "throughput" and d["count"] == 4 and d["warmup"] == 1
    assert d["command"] == ["/bin/true"] and d["network"] == "none"
    assert list(d["contenders"]) == ["pyns", "runc", "crun"]
    pyns = d["contenders"]["pyns"]
    assert pyns["containers_per_s"] == 40.0 and pyns["wall_s"] == 0.1 and pyns["mean_ms"] == 25.0
    assert pyns["each_ms"] == [10.0, 20.0, 30.0, 40.0]
    assert set(pyns["per_container_ms"]) == {"n", "min", "p50", "p90", "max", "mean"}
    assert d["ratios"] == {"runc": 4.0, "crun": 1.6}
    assert d["target"] == {"peer": TARGET_PEER, "factor": TARGET_FACTOR, "ratio": 1.6, "met": False}
    assert d["skipped"] == [{"name": "podman", "reason": "not installed"}]


def test_throughput_text_shows_every_contender_and_the_ratio():
    text = report.throughput_text(report.throughput_dict(throughput_result()))
    lines = text.splitlines()
    header = next(ln for ln in lines if ln.startswith("sequential"))
    assert header.split()[1:] == ["ctrs/s", "wall", "s", "mean", "ms", "p50", "ms", "p90", "ms", "max", "ms"]
    assert next(ln for ln in lines if ln.startswith("pyns ")).split()[1:4] == ["40.00", "0.10", "25.00"]
    assert next(ln for ln in lines if ln.startswith("pyns / runc")).split()[-1] == "4.00"
    assert next(ln for ln in lines if ln.startswith("pyns / crun")).split()[-1] == "1.60"
    for needle in ("4 containers one after another", "(+1 warm-up)",
                   "target: pyns >= 2x crun's containers/s: 1.60x, not met",
                   "skipped: podman (not installed)", "note: a note", "host: kernel 6.1"):
        assert needle in text


def test_throughput_text_without_peers_has_no_ratio_or_target():
    d = report.throughput_dict(throughput_result(peers=()))
    assert d["ratios"] == {} and d["target"] is None
    text = report.throughput_text(d)
    assert "pyns / " not in text and "target:" not in text


def test_throughput_cli_options_and_validation():
    runner = CliRunner()
    assert "throughput" in runner.invoke(bench, ["--help"]).output
    out = runner.invoke(bench, ["throughput", "--help"]).output
    for flag in ("--count", "--warmup", "--image", "--network", "--compare", "--json", "--root"):
        assert flag in out
    bad = runner.invoke(bench, ["throughput", "--count", "0"])
    assert isinstance(bad.exception, InvalidArgument)
    bad = runner.invoke(bench, ["throughput", "--compare", "runc,lxc"])
    assert isinstance(bad.exception, InvalidArgument) and "lxc" in str(bad.exception)


@pytest.mark.parametrize("opts", [StartupOptions(warmup=-1), StartupOptions(via="rest"),
                                  ThroughputOptions(warmup=-1), ThroughputOptions(network="host")])
def test_bench_options_refuse_nonsense(opts):
    with pytest.raises(InvalidArgument):
        opts.check()


def test_favordynmods_is_read_from_the_cgroup_mounts(tmp_path):
    from pyns.bench.startup import cgroup_favors_dynmods

    off = tmp_path / "off"
    off.write_text("30 25 0:26 / /sys/fs/cgroup/pids rw,relatime shared:9 - cgroup cgroup rw,pids\n"
                   "35 25 0:31 / /sys/fs/cgroup/unified rw,relatime shared:14 - cgroup2 cgroup2 rw\n")
    on = tmp_path / "on"
    on.write_text("35 25 0:31 / /sys/fs/cgroup rw,relatime shared:14 - cgroup2 cgroup2 rw,nsdelegate,favordynmods\n")
    assert not cgroup_favors_dynmods(str(off))
    assert cgroup_favors_dynmods(str(on))
    assert not cgroup_favors_dynmods(str(tmp_path / "missing"))


def test_throughput_contenders_take_turns_by_block_after_their_warmups():
    from pyns.bench.throughput import run_batches

    order: list[str] = []

    class Runner:
        def __init__(self, name: str) -> None:
            self.name = name

        def run(self) -> None:
            order.append(self.name)

    batches = run_batches([Runner("a"), Runner("b")], count=5, warmup=1, block=2)
    assert order == ["a", "b"] + ["a"] * 2 + ["b"] * 2 + ["b"] * 2 + ["a"] * 2 + ["a", "b"]
    assert {n: len(b.each_ms) for n, b in batches.items()} == {"a": 5, "b": 5}
    assert list(batches) == ["a", "b"] and all(b.wall_ms >= sum(b.each_ms) for b in batches.values())

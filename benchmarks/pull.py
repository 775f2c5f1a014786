#!/usr/bin/env python3
"""Pull a multi-layer image of >= 100 MB from a local registry: pyns vs skopeo.

    python3 benchmarks/pull.py [--runs 3] [--rootfs DIR] [--workdir DIR]

The image is a Debian rootfs (``debootstrap --variant=minbase bookworm``,
made once and cached in the work dir; with ``--rootfs`` any directory will
do, and without debootstrap the script falls back to /usr content), split
into five gzip layers, written as an OCI layout and pushed with skopeo to
Debian's docker-registry on a loopback port. Then, per run, from a cold
start:

* ``pyns pull -q`` (the installed command) into a fresh PYNS_ROOT: download, verify, decompress,
  unpack every layer (what ``docker pull`` does);
* ``skopeo copy docker://... dir:`` into a fresh directory: download and
  verify only, nothing is decompressed or unpacked;
* ``skopeo copy ... oci:`` then ``umoci unpack`` (when umoci is installed):
  Go tools doing the whole of what a pull does.

Wall time and the peak RSS of each process (wait4) are printed side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.registry_env; pyns itself is the installed one (make install)

from tests.registry_env import DockerRegistry, OciLayout  # noqa: E402

DEFAULT_WORKDIR = Path("/var/tmp/pyns-bench")
MIRROR = "http://deb.debian.org/debian"


def debian_mirror() -> str:
    """The mirror apt on this machine uses (debootstrap must go through the same one)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return MIRROR


def make_rootfs(workdir: Path) -> tuple[Path, str]:
    """A cached debootstrap rootfs, else a copy of /usr; returns (dir, description)."""
    rootfs = workdir / "rootfs"
    if (rootfs / "usr" / "bin").is_dir():
        return rootfs, "Debian bookworm minbase (debootstrap, cached)"
    if shutil.which("debootstrap"):
        tmp = workdir / "rootfs.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        proc = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(tmp), debian_mirror()],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            tmp.rename(rootfs)
            return rootfs, "Debian bookworm minbase (debootstrap)"
        print(f"debootstrap failed ({proc.stderr.strip()[-200:]}); using /usr content", file=sys.stderr)
    fallback = workdir / "usr-rootfs"
    if not fallback.exists():
        fallback.mkdir()
        subprocess.run(["cp", "-a", "/usr", str(fallback / "usr")], check=True)
    return fallback, "a copy of this machine's /usr"


def tar_layer(rootfs: Path, include: list[str], exclude: list[str], out: Path) -> Path:
    """GNU tar of ``include`` paths (minus ``exclude``) into ``out``; numeric owners, sorted names."""
    cmd = ["tar", "--numeric-owner", "--sort=name", "-C", str(rootfs), "-cf", str(out)]
    subprocess.run(cmd + [f"--exclude=./{e}" for e in exclude] + [f"./{p}" for p in include], check=True)
    return out


def make_layers(rootfs: Path, workdir: Path) -> list[Path]:
    """Five layer tarballs: the top-level rest, usr/lib, usr/share, the rest of usr, var."""
    out = workdir / "layers"
    out.mkdir(exist_ok=True)
    rest = [p.name for p in sorted(rootfs.iterdir()) if p.name not in ("usr", "var")]
    groups: list[tuple[list[str], list[str]]] = [(rest, []), (["usr/lib"], []), (["usr/share"], []),
                                                 (["usr"], ["usr/lib", "usr/share"]), (["var"], [])]
    return [tar_layer(rootfs, inc, exc, out / f"{i}.tar") for i, (inc, exc) in enumerate(groups)
            if inc and all((rootfs / p).exists() for p in inc)]


def _digest_and_gzip(src: Path, dest_dir: Path) -> tuple[str, dict[str, object]]:
    """(diff_id, gzip blob descriptor), streaming: the parent stays small for fair RSS numbers."""
    import hashlib
    import zlib

    plain, packed = hashlib.sha256(), hashlib.sha256()
    tmp = dest_dir / "tmp.gz"
    size = 0
    with open(src, "rb") as f, open(tmp, "wb") as out:
        z = zlib.compressobj(6, zlib.DEFLATED, 31)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            plain.update(chunk)
            data = z.compress(chunk)
            packed.update(data)
            out.write(data)
            size += len(data)
        data = z.flush()
        packed.update(data)
        out.write(data)
        size += len(data)
    tmp.rename(dest_dir / packed.hexdigest())
    return "sha256:" + plain.hexdigest(), {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                           "digest": "sha256:" + packed.hexdigest(), "size": size}


def build_layout(workdir: Path, layers: list[Path]) -> Path:
    layout_dir = workdir / "layout"
    stamp = workdir / "layout.json"
    key = [[str(p), p.stat().st_size, p.stat().st_mtime] for p in layers]
    if stamp.exists() and json.loads(stamp.read_text()) == key:
        return layout_dir
    shutil.rmtree(layout_dir, ignore_errors=True)
    layout = OciLayout(layout_dir)
    diff_ids, descs = zip(*(_digest_and_gzip(p, layout_dir / "blobs" / "sha256") for p in layers))
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["bash"]},
              "rootfs": {"type": "layers", "diff_ids": list(diff_ids)}}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": layout.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
                "layers": list(descs)}
    layout.tag(layout.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json"), "bench")
    stamp.write_text(json.dumps(key))
    return layout_dir


# Runs one command and prints "seconds maxrss_kib". It is a separate small
# process because a child's ru_maxrss starts from its parent's RSS at fork
# time: measured straight from this script (which holds pytest's imports),
# every tool would seem to need at least what this script uses.
_MEASURE = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one command (its forked workers included: the largest one counts)."""
    proc = subprocess.run([sys.executable, "-S", "-c", _MEASURE, *argv], env=env, capture_output=True, text=True)
    try:
        elapsed, rss, code = proc.stdout.split()
    except ValueError:
        raise SystemExit(f"{argv[:4]} could not be measured: {proc.stderr}") from None
    if int(code) != 0:
        raise SystemExit(f"{argv[:4]} failed: {proc.stderr}")
    return float(elapsed), int(rss)


def _fs_type(path: Path) -> str:
    out = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--rootfs", type=Path, default=None)
    parser.add_argument("--dest", type=Path, default=None,
                        help="where the pyns root and skopeo's dir go (default: the work dir); "
                             "both tools always write to the same filesystem")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rootfs, what = (args.rootfs, f"{args.rootfs}") if args.rootfs else make_rootfs(args.workdir)
    layers = make_layers(rootfs, args.workdir)
    layout = build_layout(args.workdir, layers)
    compressed = sum(p.stat().st_size for p in (layout / "blobs" / "sha256").iterdir())
    entries = sum(1 for _ in rootfs.rglob("*"))
    print(f"image: {what}; {len(layers)} layers, {entries} files, "
          f"{sum(p.stat().st_size for p in layers) / 1e6:.1f} MB uncompressed, {compressed / 1e6:.1f} MB gzip")
    dest = args.dest or args.workdir
    dest.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="pyns-bench-", dir=dest))
    results: dict[str, list[tuple[float, int]]] = {"pyns pull": [], "skopeo copy (dir:)": []}
    umoci = shutil.which("umoci")
    if umoci:
        results["skopeo (oci:) + umoci unpack"] = []
    try:
        with DockerRegistry(scratch / "registry") as reg:
            ref = f"{reg.host}/bench/debian:latest"
            subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                            f"oci:{layout}:bench", f"docker://{ref}"], check=True)
            import pyns
            from pyns.bench.startup import cli_command

            env = {**os.environ, "PYTHONPATH": str(Path(pyns.__file__).resolve().parents[1]),
                   "PYNS_CONFIG": str(scratch / "config")}
            pyns_cmd = cli_command()  # the installed `pyns`, as a user runs it
            print(f"destination: {dest} ({_fs_type(dest)})")
            for run in range(args.runs):
                root = scratch / f"root{run}"
                env["PYNS_ROOT"] = str(root)
                results["pyns pull"].append(
                    measure([*pyns_cmd, "pull", "-q", ref], env))
                shutil.rmtree(root)
                dest = scratch / f"dir{run}"
                results["skopeo copy (dir:)"].append(measure(
                    ["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}",
                     f"dir:{dest}"], env))
                shutil.rmtree(dest)
                if umoci:  # the same work as a pull: download, then unpack every layer into a rootfs
                    copy = measure(["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                                    f"docker://{ref}", f"oci:{dest}:bench"], env)
                    unpack = measure([umoci, "unpack", "--image", f"{dest}:bench", str(scratch / "bundle")], env)
                    results["skopeo (oci:) + umoci unpack"].append((copy[0] + unpack[0], max(copy[1], unpack[1])))
                    shutil.rmtree(dest)
                    shutil.rmtree(scratch / "bundle")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{args.runs} runs each, cold store/destination every run")
    print(f"{'tool':<30}{'min s':>8}{'median s':>10}{'max s':>8}{'peak RSS MiB':>14}")
    for tool, samples in results.items():
        times = [t for t, _ in samples]
        print(f"{tool:<30}{min(times):>8.2f}{statistics.median(times):>10.2f}{max(times):>8.2f}"
              f"{max(r for _, r in samples) / 1024:>14.1f}")


if __name__ == "__main__":
    main()

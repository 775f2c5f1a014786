"""Dockerfile builds on a real engine: every instruction, and what the image does when run.

The expected values are what ``docker build`` (classic builder) gives for
the same files, written out explicitly.
"""
from __future__ import annotations

import io
import json
import os
import stat
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pyns.build.api import BuildResult, build

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

CLI_WITH_BUILD = ("import sys; from pyns.cli.group import cli, main; from pyns.cli import build as b; "
                  "'build' in cli.commands or b.register(cli); main()")


def write_context(base: Path, files: dict[str, str | bytes]) -> Path:
    """Create a context directory from {relative path: content}."""
    for name, content in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return base


def do_build(engine: Any, context: Path, dockerfile: str, **kwargs: Any) -> BuildResult:
    (context / "Dockerfile").write_text(dockerfile)
    return build(engine, path=str(context), **kwargs)


def run(engine: Any, image: str, cmd: Any = None, **kwargs: Any) -> str:
    return engine.containers.run(image, cmd, remove=True, **kwargs).decode()


def cached_steps(result: BuildResult) -> list[int]:
    """Numbers of the steps that hit the cache, from the log."""
    steps, step = [], 0
    for line in result.text.splitlines():
        if line.startswith("Step "):
            step = int(line.split()[1].split("/")[0])
        elif line == " ---> Using cache":
            steps.append(step)
    return steps


def pyns_build_cli(*args: str, input: bytes | None = None) -> Any:
    import subprocess

    return subprocess.run([sys.executable, "-c", CLI_WITH_BUILD, "build", *args], input=input, check=False,
                          capture_output=True, timeout=120)


def archive_bytes(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o640, 123, 456
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


EVERYTHING = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS base
MAINTAINER Jane Doe <jane@example.com>
LABEL org.example.title="demo app" version=1
ENV APP_HOME=/srv/app \\
    GREETING="hello world"
ARG WHO=nobody
WORKDIR $APP_HOME
WORKDIR sub
COPY top.txt .
COPY app/ ./app/
COPY --chown=app:app app/a.txt /home/app/
ADD archive.tar.gz /opt/
ADD --chown=1000:1000 plain.txt /opt/plain.txt
RUN echo "$GREETING from $WHO" > greeting && rm /etc/group && mkdir -p /data/x
RUN <<EOF
echo heredoc > /srv/heredoc
EOF
COPY <<EOF /srv/generated.conf
home=$APP_HOME
EOF
SHELL ["/bin/sh", "-ec"]
RUN test "$(pwd)" = /srv/app/sub && touch /data/x/ignored-after-volume-declared-later
VOLUME /data
RUN touch /data/discarded
USER app
EXPOSE 8080/tcp 53/udp
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=3 CMD wget -q -O- http://localhost:8080/ || exit 1
ONBUILD RUN echo triggered > /tmp/onbuild
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat greeting"]
"""


def test_every_instruction(engine: Any, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        "top.txt": "top\n", "app/a.txt": "a\n", "app/sub/b.txt": "b\n", "plain.txt": "plain\n",
        "archive.tar.gz": archive_bytes({"from-archive.txt": b"x\n"}),
    })
    result = do_build(engine, ctx, EVERYTHING, tag="demo:1", buildargs={"WHO": "me"})
    img = engine.image_store.get("demo:1")
    assert result.image.id == img.id
    lines = result.text.splitlines()
    assert lines[0] == "Step 1/26 : FROM ${BASE} AS base"
    assert " ---> Running in " in result.text and lines[-2:] == [f"Successfully built {img.short_id}",
                                                                  "Successfully tagged demo:1"]

    # cmd/entrypoint behaviour: the image's CMD runs through the ENTRYPOINT, a command replaces CMD
    assert run(engine, "demo:1") == "hello world from me\n"
    assert run(engine, "demo:1", ["id -u; id -g; pwd"]) == "1000\n1000\n/srv/app/sub\n"

    listing = run(engine, "demo:1", [
        ("cd /; stat -c '%n %u:%g %a' srv/app/sub/top.txt srv/app/sub/app/a.txt srv/app/sub/app/sub/b.txt "
         "home/app/a.txt opt/from-archive.txt opt/plain.txt srv/heredoc srv/generated.conf data/x; "
         "cat srv/generated.conf srv/heredoc; ls /etc/group /data/discarded 2>&1; "
         "ls /data/x; ls /opt")])
    assert listing.splitlines() == [
        "srv/app/sub/top.txt 0:0 644",
        "srv/app/sub/app/a.txt 0:0 644",
        "srv/app/sub/app/sub/b.txt 0:0 644",
        "home/app/a.txt 1000:1000 644",
        "opt/from-archive.txt 123:456 640",  # extracted with the archive's owners and modes
        "opt/plain.txt 1000:1000 644",
        "srv/heredoc 0:0 644",
        "srv/generated.conf 0:0 644",
        "data/x 0:0 755",
        "home=/srv/app",
        "heredoc",
        "ls: /etc/group: No such file or directory",
        "ls: /data/discarded: No such file or directory",  # changes under a VOLUME are discarded
        "ignored-after-volume-declared-later",
        "from-archive.txt",
        "plain.txt",
    ]

    cfg = img.container_config
    assert cfg["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "APP_HOME=/srv/app", "GREETING=hello world"]  # build args are not kept
    assert (cfg["User"], cfg["WorkingDir"], cfg["StopSignal"]) == ("app", "/srv/app/sub", "SIGINT")
    assert cfg["Labels"] == {"org.example.title": "demo app", "version": "1"}
    assert cfg["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert cfg["Volumes"] == {"/data": {}}
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- http://localhost:8080/ || exit 1"],
                                  "Interval": 5_000_000_000, "Retries": 3}
    assert cfg["OnBuild"] == ["RUN echo triggered > /tmp/onbuild"]
    assert (cfg["Entrypoint"], cfg["Cmd"], cfg["Shell"]) == (["/bin/sh", "-c"], ["cat greeting"], ["/bin/sh", "-ec"])
    assert img.config["author"] == "Jane Doe <jane@example.com>"

    history = [h for h in img.config["history"]][1:]  # after the base image's own entry
    by = [h["created_by"] for h in history]
    assert by[0] == "/bin/sh -c #(nop)  MAINTAINER Jane Doe <jane@example.com>"
    assert by[2] == "/bin/sh -c #(nop)  ENV APP_HOME=/srv/app GREETING=hello world"
    assert by[3] == "/bin/sh -c #(nop)  ARG WHO=nobody"
    assert by[4] == "/bin/sh -c #(nop) WORKDIR /srv/app"
    assert by[6].startswith("/bin/sh -c #(nop) COPY file:") and by[6].endswith(" in . ")
    assert by[7].startswith("/bin/sh -c #(nop) COPY dir:")
    assert by[11] == '|1 WHO=me /bin/sh -c echo "$GREETING from $WHO" > greeting && rm /etc/group && mkdir -p /data/x'
    assert by[-2] == '/bin/sh -ec #(nop)  ENTRYPOINT ["/bin/sh" "-c"]'  # after SHELL, history uses it
    assert all(h.get("empty_layer") for h in history if "#(nop)  " in h["created_by"])
    assert len(img.diff_ids) == 1 + sum(1 for h in history if not h.get("empty_layer"))

    # ONBUILD triggers run in a child build, and are not inherited further
    child = tmp_path / "child"
    child.mkdir()
    result = do_build(engine, child, "FROM demo:1\nRUN cat /tmp/onbuild\n", tag="child")
    assert "# Executing 1 build trigger" in result.text and "triggered\n" in result.text
    assert engine.image_store.get("child").container_config.get("OnBuild") is None


@pytest.mark.parametrize("dockerfile, expected", [
    # an inherited CMD is reset by a new ENTRYPOINT ...
    ('FROM base\nENTRYPOINT ["echo", "ep"]\n', "ep\n"),
    # ... but not one set in the same stage
    ('FROM busybox\nCMD ["from-cmd"]\nENTRYPOINT ["echo"]\n', "from-cmd\n"),
    # shell-form ENTRYPOINT ignores CMD
    ('FROM busybox\nENTRYPOINT echo shell-ep\nCMD ["ignored"]\n', "shell-ep\n"),
    # exec ENTRYPOINT + shell CMD: the CMD's /bin/sh -c words become arguments
    ('FROM busybox\nENTRYPOINT ["echo"]\nCMD hello\n', "/bin/sh -c hello\n"),
    # CMD alone, shell form
    ("FROM busybox\nCMD echo $HOME\n", "/root\n"),
])
def test_cmd_entrypoint_table(engine: Any, busybox: str, tmp_path: Path, dockerfile: str, expected: str) -> None:
    do_build(engine, tmp_path, 'FROM busybox\nCMD ["echo", "base-cmd"]\n', tag="base")
    do_build(engine, tmp_path, dockerfile, tag="table")
    assert run(engine, "table") == expected


MULTI = """\
FROM busybox AS builder
RUN mkdir /out && echo built > /out/artifact && echo more > /out/extra
FROM builder AS tester
RUN echo tested > /out/tested
FROM busybox AS broken
RUN exit 7
FROM scratch
COPY --from=busybox:latest /bin/busybox /bin/busybox
COPY --from=builder /out/ /out/
COPY --from=1 /out/tested /tested
ENTRYPOINT ["/bin/busybox"]
"""


def test_multi_stage_copy_from_and_target(engine: Any, busybox: str, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="returned a non-zero code: 7"):
        do_build(engine, tmp_path, MULTI, tag="multi")
    result = do_build(engine, tmp_path, MULTI.replace("RUN exit 7", "RUN true"), tag="multi")
    assert result.text.count("Step ") == 11
    assert run(engine, "multi", ["cat", "/out/artifact", "/out/extra", "/tested"]) == "built\nmore\ntested\n"
    # dev etc proc sys are the runtime's mount points, as in a docker container
    assert run(engine, "multi", ["ls", "/"]) == "bin\ndev\netc\nout\nproc\nsys\ntested\n"
    multi = engine.image_store.get("multi")
    assert len(multi.diff_ids) == 3 and [h["created_by"].split()[3] for h in multi.config["history"]] == [
        "COPY", "COPY", "COPY", "ENTRYPOINT"]

    result = do_build(engine, tmp_path, MULTI, tag="only-builder", target="tester")
    assert "exit 7" not in result.text and result.text.count("Step ") == 4
    assert run(engine, "only-builder", ["cat", "/out/tested"]) == "tested\n"


def test_dockerignore(engine: Any, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        ".dockerignore": "# comment\n*.secret\n!keep.secret\nlogs/\n**/*.tmp\n",
        "a.secret": "no", "keep.secret": "yes", "logs/x.log": "no", "src/main.c": "int main;",
        "src/deep/x.tmp": "no", "src/deep/y.c": "y",
    })
    do_build(engine, ctx, "FROM busybox\nCOPY . /ctx/\n", tag="ignored")
    out = run(engine, "ignored", ["sh", "-c", "cd /ctx && find . | sort"])
    assert out.splitlines() == [".", "./.dockerignore", "./Dockerfile", "./keep.secret", "./src", "./src/deep",
                                "./src/deep/y.c", "./src/main.c"]
    with pytest.raises(Exception, match="Dockerfile:2: COPY failed: file not found in build context or "
                                        "excluded by .dockerignore: stat a.secret"):
        do_build(engine, ctx, "FROM busybox\nCOPY a.secret /\n")


def test_add_archive_and_url(engine: Any, busybox: str, tmp_path: Path) -> None:
    import http.server
    import threading

    payload = archive_bytes({"inside.txt": b"in\n"})
    served = tmp_path / "www"
    served.mkdir()
    (served / "payload.tar.gz").write_bytes(payload)
    os.utime(served / "payload.tar.gz", (1_600_000_000, 1_600_000_000))
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/payload.tar.gz"
        ctx = write_context(tmp_path / "ctx", {
            "local.tar.gz": payload, "local.tar.bz2": archive_bytes({"bz.txt": b"bz\n"}, "w:bz2"),
            "local.tar.xz": archive_bytes({"xz.txt": b"xz\n"}, "w:xz"), "not-a-tar.gz": b"\x1f\x8bnope"})
        do_build(engine, ctx, f"FROM busybox\nADD local.tar.gz local.tar.bz2 local.tar.xz not-a-tar.gz /x/\n"
                              f"ADD {url} /dl/\nCOPY local.tar.gz /copied/\n", tag="added")
    finally:
        server.shutdown()
        server.server_close()
    out = run(engine, "added", ["sh", "-c", "cd / && ls x && ls dl && ls copied && stat -c '%a %Y' dl/payload.tar.gz"])
    assert out.splitlines() == ["bz.txt", "inside.txt", "not-a-tar.gz", "xz.txt",  # x: archives extracted
                                "payload.tar.gz",  # dl: a URL is never extracted
                                "local.tar.gz",  # copied: COPY never extracts
                                "600 1600000000"]  # mode 0600, mtime from Last-Modified


def test_built_image_saves_like_docker(engine: Any, busybox: str, tmp_path: Path) -> None:
    if not hasattr(engine.images, "save"):
        pytest.skip("images.save is not available yet")
    do_build(engine, tmp_path, "FROM busybox\nRUN echo x > /x\nCMD [\"cat\", \"/x\"]\n", tag="saved")
    out = io.BytesIO()
    engine.images.save(["saved"], out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == ["saved:latest"]
        assert len(manifest[0]["Layers"]) == 2 and all(tf.getmember(layer) for layer in manifest[0]["Layers"])


def test_cli_build(engine: Any, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile.custom": "FROM busybox\nARG X\nRUN echo $X > /x\n"})
    proc = pyns_build_cli("-q", "-t", "cli:1", "--build-arg", "X=42", "-f", str(ctx / "Dockerfile.custom"),
                          str(ctx))
    assert proc.returncode == 0, proc.stderr
    image_id = proc.stdout.decode().strip()
    assert image_id == engine.image_store.get("cli:1").id
    assert run(engine, "cli:1", ["cat", "/x"]) == "42\n"

    proc = pyns_build_cli("-t", "stdin", "-", input=b"FROM busybox\nLABEL from=stdin\n")
    assert proc.returncode == 0, proc.stderr
    assert engine.image_store.get("stdin").labels == {"from": "stdin"}

    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as tf:
        for name, data in {"Dockerfile": b"FROM busybox\nCOPY f /f\n", "f": b"from tar\n"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    proc = pyns_build_cli("-t", "tarctx", "-", input=tar.getvalue())
    assert proc.returncode == 0, proc.stderr
    assert run(engine, "tarctx", ["cat", "/f"]) == "from tar\n"

    proc = pyns_build_cli("-t", "fails", "-", input=b"FROM busybox\nRUN echo partial; exit 3\n")
    assert proc.returncode == 3
    assert b"partial\n" in proc.stdout
    assert proc.stderr.decode().strip() == ("Error: Dockerfile:2: The command '/bin/sh -c echo partial; exit 3' "
                                            "returned a non-zero code: 3")
    assert not engine.image_store.exists("fails")
    assert engine.containers.list(all=True) == []


def test_layers_are_docker_diffs(engine: Any, busybox: str, tmp_path: Path) -> None:
    """A RUN layer holds only the step's changes: whiteouts, opaque dirs, no runtime mount points."""
    do_build(engine, tmp_path, "FROM busybox\nRUN rm /etc/passwd && rm -rf /home && mkdir /home && "
                               "touch /home/new && mkdir /empty\nRUN true\n", tag="diffs")
    img = engine.image_store.get("diffs")
    assert img.config["history"][-1] == {"created": img.config["history"][-1]["created"],
                                         "created_by": "/bin/sh -c true", "empty_layer": True}
    layer = engine.image_store.layers.get(img.chain_ids[-1])
    with tarfile.open(fileobj=io.BytesIO(engine.image_store.content.read(layer.blobs[0].digest))) as tf:
        names = sorted(tf.getnames())
    assert names == ["empty", "etc", "etc/.wh.passwd", "home", "home/.wh..wh..opq", "home/new"]
    assert stat.S_IMODE(os.lstat(os.path.join(layer.diff_dir, "home")).st_mode) == 0o755


def test_copy_directory_and_wildcard_semantics(engine: Any, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"src/main.c": "m", "src/util.h": "h", "src/deep/y.c": "y",
                                           "one.txt": "1", "link-target/f": "via link"})
    os.symlink("link-target", ctx / "link")
    do_build(engine, ctx, "FROM busybox\nCOPY src /s\nCOPY src/ /s2/\nCOPY src/*.c src/deep/*.c /c/\n"
                          "COPY one.txt /newname\nCOPY one.txt /tmp\nWORKDIR /w\nCOPY one.txt rel/\n"
                          "COPY link /followed\nCOPY [\"one.txt\", \"/json form/\"]\n", tag="copies")
    out = run(engine, "copies", ["sh", "-c", "cd / && find s s2 c w followed 'json form' -type f | sort && "
                                             "cat newname && stat -c '%a' tmp tmp/one.txt"])
    assert out.splitlines() == ["c/main.c", "c/y.c", "followed/f", "json form/one.txt", "s/deep/y.c", "s/main.c",
                                "s/util.h", "s2/deep/y.c", "s2/main.c", "s2/util.h", "w/rel/one.txt",
                                "11777", "644"]  # "1" from newname, then /tmp keeps its 1777

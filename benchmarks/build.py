#!/usr/bin/env python3
"""Dockerfile build time: a cold build and a fully cached rebuild of a multi-step Dockerfile.

    python3 benchmarks/build.py [--runs N]

The Dockerfile (FROM busybox, ENV/ARG/WORKDIR/LABEL, COPY of a small
tree, four RUN steps, CMD) is built in a throw-away PYNS_ROOT on a busybox
image imported from busybox-static:
  cold      --no-cache build (every RUN in a real container)
  cached    the same build again with the cache (every step a hit)
When a docker engine answers (`docker info`), docker's classic builder
(DOCKER_BUILDKIT=0) builds the same files the same two ways, from an image
made with `docker import` of the same busybox rootfs. Needs root.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

from common import busybox_engine, print_table, require_root, timed

DOCKERFILE = """\
FROM {base}
ARG VERSION=1.0
ENV APP=/srv/app LANG=C.UTF-8
LABEL org.example.version=$VERSION
WORKDIR $APP
COPY src/ ./src/
COPY config.txt /etc/app.conf
RUN mkdir -p /var/lib/app && cp -r src /var/lib/app/ && echo $VERSION > /var/lib/app/version
RUN mkdir -p /var/log && for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i >> /var/log/app.log; done
RUN echo 'worker:x:1001:1001::/home/worker:/bin/sh' >> /etc/passwd && chown -R 1001 /var/lib/app
RUN rm -rf /tmp/* && find /var/lib/app | wc -l > /var/lib/app/count
USER worker
EXPOSE 8080
CMD ["cat", "/var/lib/app/version"]
"""


def make_context(path: str, base: str) -> None:
    os.makedirs(os.path.join(path, "src", "pkg"), exist_ok=True)
    for i in range(50):
        with open(os.path.join(path, "src", "pkg", f"mod{i}.py"), "w") as f:
            f.write(f"VALUE = {i}\n" * 20)
    with open(os.path.join(path, "config.txt"), "w") as f:
        f.write("key=value\n")
    with open(os.path.join(path, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE.format(base=base))


def docker_rows(context: str, runs: int) -> list[tuple[str, list[float]]]:
    from pyns.bench.busybox import write_rootfs

    env = dict(os.environ, DOCKER_BUILDKIT="0")
    docker = subprocess.Popen(["docker", "import", "-", "pyns-bench-busybox:latest"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)
    write_rootfs(docker.stdin)
    docker.stdin.close()
    if docker.wait() != 0:
        raise SystemExit("docker import failed")

    def build(*flags: str) -> None:
        subprocess.run(["docker", "build", "-q", *flags, "-t", "pyns-bench-built", context], env=env, check=True,
                       capture_output=True)

    try:
        cold = timed(lambda: build("--no-cache"), runs, 0)
        cached = timed(build, runs, 0)
    finally:
        subprocess.run(["docker", "rmi", "-f", "pyns-bench-built", "pyns-bench-busybox"], check=False,
                       capture_output=True)
    return [("docker cold", cold), ("docker cached", cached)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    require_root()
    from pyns.bench.peers import availability
    from pyns.build.api import build

    with busybox_engine() as ws:
        engine, tmp = ws.engine, ws.scratch
        context = os.path.join(tmp, "ctx")
        make_context(context, ws.image)
        steps = DOCKERFILE.count("\n")

        rows = [("pyns cold", timed(lambda: build(engine, path=context, tag="bench", nocache=True), args.runs)),
                ("pyns cached", timed(lambda: build(engine, path=context, tag="bench"), args.runs))]
        no_docker = availability("docker")
        if no_docker is None:
            docker_ctx = os.path.join(tmp, "docker-ctx")
            make_context(docker_ctx, "pyns-bench-busybox")
            rows += docker_rows(docker_ctx, args.runs)
        else:
            print(f"(docker: {no_docker}: docker's classic builder not measured)")

    print(f"build of a {steps}-step Dockerfile (4 RUN, 2 COPY), {args.runs} runs, ms")
    print_table("way", rows, ".1f")
    return 0


if __name__ == "__main__":
    sys.exit(main())

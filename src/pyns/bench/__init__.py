"""pyns bench: the measuring instrument for container start-up, throughput and density.

Kept apart from the engine so that it measures the engine as users drive
it (the library's ``containers.run`` or the ``pyns`` CLI) and adds nothing
to the hot path. Modules, bottom up:

``stats``      percentiles, summaries and the timed loop
``events``     the start-up timeline: which instants are recorded, in order
``probe``      recording those instants inside the engine's run path
``busybox``    a busybox rootfs tarball from busybox-static (the default image)
``workspace``  a throw-away engine root with that image
``mountns``    a private mount namespace crun can run in (hybrid cgroups)
``floor``      the physical floor: a bare clone + execve + wait
``bundle``     an image's merged root filesystem, cached, for OCI peers
``oci``        an OCI config.json made from the Spec pyns itself would run
``engines``    docker and podman asked through their clients: can they run it, which versions ran
``peers``      runc, crun (OCI bundles), docker, podman (their CLIs), and the host set-up they need
``startup``    the start-up benchmark: pyns, floor and peers, alternating
``throughput`` containers per second, one after another: each contender's batch
``memory``     RSS/PSS, meminfo and cgroup readers
``density``    N idle detached containers: memory per container, timings
``report``     results as text tables and JSON-ready dicts (the CLI prints)

``python -m pyns.bench startup|throughput|density`` is ``pyns bench ...`` (pyns.cli.bench).
"""

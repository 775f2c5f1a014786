"""Parsers for the values users give docker's CLI and SDK, with docker's rules.

Each module handles one kind of value and raises
:class:`pyns.errors.InvalidArgument` with docker's own message when a value
is malformed; nothing here does I/O (files are read by the caller and passed
in as text or through a callback).
"""
from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any
    from pyns.options.cpus import parse_cpus
    from pyns.options.envfile import merge_image_env, parse_env, parse_env_file, replace_or_append_env
    from pyns.options.labels import parse_key_value, parse_label
    from pyns.options.ports import PortBinding, parse_port, parse_port_range, parse_ports
    from pyns.options.signals import SIGNALS, parse_signal, signal_name
    from pyns.options.sizes import parse_memory, parse_memory_swap
    from pyns.options.tmpfs import merge_tmpfs_options, parse_tmpfs, tmpfs_options
    from pyns.options.ulimits import Ulimit, parse_ulimit, rlimit_number
    from pyns.options.user import ExecUser, ResolvedUser, additional_groups, lookup_exec_user, parse_user, resolve_user
    from pyns.options.volumes import VolumeSpec, check_volume_name, parse_volume

# Each name's module, imported on first use: a container start needs two or
# three of these parsers, and importing all ten cost ~10 ms of CLI start-up.
_MODULE_OF = {
    "ExecUser": "user", "PortBinding": "ports", "ResolvedUser": "user", "SIGNALS": "signals",
    "Ulimit": "ulimits", "VolumeSpec": "volumes", "additional_groups": "user",
    "check_volume_name": "volumes", "lookup_exec_user": "user", "merge_image_env": "envfile",
    "merge_tmpfs_options": "tmpfs", "parse_cpus": "cpus", "parse_env": "envfile",
    "parse_env_file": "envfile", "parse_key_value": "labels", "parse_label": "labels",
    "parse_memory": "sizes", "parse_memory_swap": "sizes", "parse_port": "ports",
    "parse_port_range": "ports", "parse_ports": "ports", "parse_signal": "signals", "parse_tmpfs": "tmpfs",
    "parse_ulimit": "ulimits", "parse_user": "user", "parse_volume": "volumes",
    "replace_or_append_env": "envfile", "resolve_user": "user", "rlimit_number": "ulimits",
    "signal_name": "signals", "tmpfs_options": "tmpfs",
}

__all__ = [
    "ExecUser", "PortBinding", "ResolvedUser", "SIGNALS", "Ulimit", "VolumeSpec",
    "additional_groups", "check_volume_name", "lookup_exec_user", "merge_image_env",
    "merge_tmpfs_options", "parse_cpus", "parse_env", "parse_env_file", "parse_key_value",
    "parse_label", "parse_memory", "parse_memory_swap", "parse_port", "parse_port_range",
    "parse_ports", "parse_signal", "parse_tmpfs", "parse_ulimit", "parse_user", "parse_volume",
    "replace_or_append_env", "resolve_user", "rlimit_number", "signal_name", "tmpfs_options",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'pyns.options' has no attribute {name!r}")
    value = getattr(import_module(f"pyns.options.{module}"), name)
    globals()[name] = value
    return value

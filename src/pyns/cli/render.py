"""Rendering of engine objects into docker's tables and JSON lines."""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from pyns import formatting


def _parse(ts: str) -> dt.datetime | None:
    if not ts or ts.startswith("0001-"):
        return None
    return formatting.parse_rfc3339(ts)


def container_row(attrs: dict[str, Any], now: dt.datetime, no_trunc: bool) -> dict[str, str]:
    cfg, state = attrs["Config"], attrs["State"]
    cmd = formatting.join_command(attrs["Path"], attrs["Args"])
    created = _parse(attrs["Created"])
    return {
        "ID": attrs["Id"] if no_trunc else attrs["Id"][:12],
        "Image": cfg.get("Image", ""),
        "Command": formatting.truncate_command(cmd, None if no_trunc else 20),
        "CreatedAt": created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if created else "",
        "RunningFor": formatting.created_ago(created, now) if created else "",
        "Status": formatting.container_status(state["Status"], state["ExitCode"], _parse(state["StartedAt"]),
                                              _parse(state["FinishedAt"]), now),
        "State": state["Status"],
        "Ports": ports_column(attrs),
        "Names": attrs["Name"].lstrip("/"),
        "Labels": ",".join(f"{k}={v}" for k, v in (cfg.get("Labels") or {}).items()),
        "Mounts": ",".join(m.get("Name") or m.get("Source", "") for m in attrs.get("Mounts") or []),
        "Networks": attrs["HostConfig"].get("NetworkMode", ""),
        "LocalVolumes": str(sum(1 for m in attrs.get("Mounts") or [] if m.get("Type") == "volume")),
        "Size": "",
    }


def ports_column(attrs: dict[str, Any]) -> str:
    """ps PORTS from inspect's NetworkSettings.Ports: "0.0.0.0:8080->80/tcp, 443/tcp"."""
    ports = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    if not ports:
        return ""
    from pyns.network import settings
    from pyns.options.ports import PortBinding

    bound, exposed = [], []
    for key, entries in ports.items():
        num, _, proto = key.partition("/")
        if not entries:
            exposed.append(key)
        for e in entries or []:
            host = e.get("HostPort") or ""
            bound.append(PortBinding(e.get("HostIp") or "0.0.0.0", int(host) if host.isdigit() else None,
                                     int(num), proto or "tcp"))
    return settings.ps_ports(bound, exposed)


PS_COLUMNS = [("CONTAINER ID", "ID"), ("IMAGE", "Image"), ("COMMAND", "Command"), ("CREATED", "RunningFor"),
              ("STATUS", "Status"), ("PORTS", "Ports"), ("NAMES", "Names")]


def ps_table(rows: list[dict[str, str]]) -> str:
    return formatting.render_table([h for h, _ in PS_COLUMNS], [[r[k] for _, k in PS_COLUMNS] for r in rows])


def json_lines(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)


_FIELD = re.compile(r"\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}")


def go_template(template: str, obj: Any) -> str:
    """The subset of Go templates people use with --format: {{.A.B}} and {{json .A}}."""
    def value(m: re.Match[str]) -> str:
        v: Any = obj
        for part in filter(None, m.group(2).split(".")):
            v = v.get(part) if isinstance(v, dict) else None
        if m.group(1):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None:
            return "<no value>"
        if isinstance(v, (dict, list)):
            return json.dumps(v)
        return str(v)

    return _FIELD.sub(value, template.replace("\\n", "\n").replace("\\t", "\t"))


def inspected(objects: list[Any], template: str | None) -> str:
    """``inspect`` output: each object through the template, else one JSON array (docker's indent)."""
    if template:
        return "".join(go_template(template, obj) + "\n" for obj in objects)
    return json.dumps(objects, indent=4) + "\n"

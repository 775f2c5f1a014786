"""The nftables backend: one table per pyns root, ``ip pyns`` by default.

A table of its own means pyns never edits anyone else's rules, and
``nft list table ip pyns`` shows everything pyns did. Hooked chains only
jump to pyns's regular chains; they are flushed and rebuilt in the same
transaction as a process's first addition, so creating them is idempotent
without a look-up, and hooks written by an older pyns (or damaged by
hand) are replaced by the current ones the next time pyns adds rules (a
container publishing a port, a network coming up; ~0.2 ms, once per
process). Per-network and per-container rules carry a comment tag and
are removed by handle after one listing of the chain that holds them.

Commands go through libnftables in-process (ctypes, ~0.3 ms a
transaction) when the library is present, else through the ``nft``
command. The check every bridge start makes, which network tags one
chain holds, reads the chain over netlink instead (``nfnl.py``): a start
that publishes no port never loads libnftables.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import subprocess
import threading
from typing import Any

from pyns.network.firewall import nfnl
from pyns.network.firewall.base import LOOPBACK, TAG_PREFIX, Firewall, FirewallError, Rule

_OUTPUT_HANDLE = 1 << 3
_OUTPUT_JSON = 1 << 4

# hooked chain -> (type, hook, priority, the jumps it holds)
_HOOKS = {
    # not 127.0.0.0/8 from prerouting: see base.py
    "nat_pre": ("nat", "prerouting", "dstnat", (f"ip daddr != {LOOPBACK} fib daddr type local jump publish",)),
    "nat_out": ("nat", "output", "-100", ("fib daddr type local jump publish",)),
    "nat_post": ("nat", "postrouting", "srcnat", ("jump outbound",)),
    "filter_fwd": ("filter", "forward", "filter", ("jump isolate1", "jump bridges")),
    "raw_pre": ("filter", "prerouting", "raw", ("jump guard",)),
}
_CHAINS = ("publish", "outbound", "isolate1", "isolate2", "bridges", "guard")


class _LibNft:
    """A libnftables context; one per process, calls serialised."""

    _lock = threading.Lock()
    _instance: "_LibNft | None" = None

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        for fn in (lib.nft_ctx_buffer_output, lib.nft_ctx_buffer_error):
            fn.argtypes = [ctypes.c_void_p]
        for fn in (lib.nft_ctx_get_output_buffer, lib.nft_ctx_get_error_buffer):
            fn.argtypes, fn.restype = [ctypes.c_void_p], ctypes.c_char_p
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib = lib
        self.ctx = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_output(self.ctx)
        lib.nft_ctx_buffer_error(self.ctx)

    @classmethod
    def get(cls) -> "_LibNft | None":
        if cls._instance is None:
            try:
                cls._instance = cls(SONAME)
            except OSError:
                path = ctypes.util.find_library("nftables")  # runs ldconfig: only if the soname failed
                if path is None:
                    return None
                cls._instance = cls(path)
        return cls._instance

    def run(self, commands: str, flags: int) -> tuple[int, str, str]:
        with self._lock:
            self.lib.nft_ctx_output_set_flags(self.ctx, flags)
            rc = self.lib.nft_run_cmd_from_buffer(self.ctx, commands.encode())
            out = self.lib.nft_ctx_get_output_buffer(self.ctx) or b""
            err = self.lib.nft_ctx_get_error_buffer(self.ctx) or b""
        return rc, out.decode(errors="replace"), err.decode(errors="replace")


SONAME = "libnftables.so.1"
_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib64", "/lib")


def available() -> bool:
    """libnftables or nft is installed, found without running anything
    (``find_library`` would run ``ldconfig -p``, ~3 ms, on every start)."""
    if shutil.which("nft") is not None or any(os.path.exists(os.path.join(d, SONAME)) for d in _LIB_DIRS):
        return True
    return ctypes.util.find_library("nftables") is not None


def run_nft(commands: str, listing: bool = False) -> str:
    """Run an nft script as one transaction; JSON with handles when listing."""
    flags = _OUTPUT_JSON | _OUTPUT_HANDLE if listing else 0
    lib = _LibNft.get()
    if lib is not None:
        rc, out, err = lib.run(commands, flags)
    else:
        argv = ["nft"] + (["-j", "-a"] if listing else []) + ["-f", "-"]
        proc = subprocess.run(argv, input=commands, capture_output=True, text=True)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    if rc != 0:
        raise FirewallError(f"nftables: {err.strip() or 'failed'}")
    return out


def _iface(key: str, name: str, negate: bool) -> str:
    return f'{key} {"!= " if negate else ""}"{name}"'


def render(r: Rule) -> str:
    """A Rule in nft syntax (without its comment)."""
    parts = []
    if r.saddr:
        parts.append(f"ip saddr {r.saddr}")
    if r.daddr:
        parts.append(f"ip daddr {r.daddr}")
    if r.iif:
        parts.append(_iface("iifname", r.iif, r.iif_not))
    if r.oif:
        parts.append(_iface("oifname", r.oif, r.oif_not))
    if r.ct:
        parts.append("ct state established,related" if r.ct == "reply" else "ct status dnat")
    if r.proto:
        parts.append(f"{r.proto} dport {r.dport}")
    kind, _, arg = r.verdict.partition(":")
    parts.append({"jump": f"jump {arg}", "dnat": f"dnat to {arg}"}.get(kind, kind))
    return " ".join(parts)


class NftFirewall(Firewall):
    name = "nftables"

    def __init__(self, table: str) -> None:
        self.ident = table
        self.table = f"ip {table}"
        self._hooks_written = False  # by this process: the table exists, its hooks are current

    # rendering ---------------------------------------------------------
    def _base(self) -> list[str]:
        t = self.table
        cmds = [f"add table {t}"]
        cmds += [f"add chain {t} {c}" for c in _CHAINS]
        for chain, (kind, hook, prio, jumps) in _HOOKS.items():
            cmds.append(f"add chain {t} {chain} {{ type {kind} hook {hook} priority {prio}; policy accept; }}")
            cmds.append(f"flush chain {t} {chain}")
            cmds += [f"add rule {t} {chain} {jump}" for jump in jumps]
        return cmds

    # operations --------------------------------------------------------
    def add(self, tag: str, rules: list[Rule]) -> None:
        lines = [f'add rule {self.table} {r.chain} {render(r)} comment "{tag}"' for r in rules]
        run_nft("\n".join(([] if self._hooks_written else self._base()) + lines) + "\n")
        self._hooks_written = True

    def _rules(self, chain: str | None) -> list[dict[str, Any]]:
        what = f"chain {self.table} {chain}" if chain else f"table {self.table}"
        try:
            out = run_nft(f"list {what}\n", listing=True)
        except FirewallError:
            self._hooks_written = False
            return []  # no table: no rules
        return [item["rule"] for item in json.loads(out or "{}").get("nftables", []) if "rule" in item]

    def remove(self, tag: str, chain: str | None = None) -> None:
        doomed = [r for r in self._rules(chain) if r.get("comment") == tag]
        if doomed:
            run_nft("".join(f"delete rule {self.table} {r['chain']} handle {r['handle']}\n" for r in doomed))

    def tags(self, chain: str | None = None) -> set[str]:
        if chain is not None:
            try:
                comments = nfnl.chain_comments(self.ident, chain)
            except OSError:  # no nf_tables netlink here (or not allowed): list through nft
                pass
            else:
                if comments is None:  # no table: add() must write it (and its hooks) again
                    self._hooks_written = False
                return {c for c in comments or () if c.startswith(TAG_PREFIX)}
        return {r["comment"] for r in self._rules(chain) if str(r.get("comment", "")).startswith(TAG_PREFIX)}

    def destroy(self) -> None:
        self._hooks_written = False
        try:
            run_nft(f"delete table {self.table}\n")
        except FirewallError:
            pass  # already gone

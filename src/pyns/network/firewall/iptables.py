"""The iptables backend, for hosts without nftables.

pyns's rules live in chains of its own, named ``<PREFIX>-<ROLE>`` (PREFIX
is ``PYNS`` for the default root), reached by one jump each from the
built-in chains. Every change is one ``iptables-restore --noflush`` run
built from one ``iptables-save`` listing: chains and jumps are created only
when missing, and a tag's rules are deleted by replaying their saved
``-A`` lines as ``-D``. Nothing outside pyns's chains is touched except
those jumps. The per-start check of which networks' rules are in place
reads the chain over netlink when iptables is nf_tables-based (``nfnl.py``),
so a start that publishes no port runs no iptables process.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

from pyns.network.firewall import nfnl
from pyns.network.firewall.base import TAG_PREFIX, Firewall, FirewallError, Rule

# role -> (table, chain suffix)
_ROLES = {
    "publish": ("nat", "PUB"),
    "outbound": ("nat", "OUT"),
    "isolate1": ("filter", "ISO1"),
    "isolate2": ("filter", "ISO2"),
    "bridges": ("filter", "BR"),
    "guard": ("raw", "GUARD"),
}
# (table, built-in chain, jump rule arguments with {role} placeholders)
_JUMPS = (
    ("nat", "PREROUTING", "! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j {publish}"),  # see base.py
    ("nat", "OUTPUT", "-m addrtype --dst-type LOCAL -j {publish}"),
    ("nat", "POSTROUTING", "-j {outbound}"),
    ("filter", "FORWARD", "-j {isolate1}"),
    ("filter", "FORWARD", "-j {bridges}"),
    ("raw", "PREROUTING", "-j {guard}"),
)
# Jumps an older pyns made, deleted wherever found: this one also DNATed
# 127.0.0.0/8 arriving from other hosts.
_SUPERSEDED = (
    ("nat", "PREROUTING", "-m addrtype --dst-type LOCAL -j {publish}"),
)
_TABLES = ("raw", "nat", "filter")
_COMMENT = re.compile(r'--comment "?([^" ]+)"?')


def available() -> bool:
    return shutil.which("iptables-restore") is not None and shutil.which("iptables-save") is not None


@functools.lru_cache(maxsize=1)
def _nf_tables_based() -> bool:
    """iptables is iptables-nft (its rules are nf_tables rules netlink can read),
    told by what the command links to (xtables-nft-multi), without running it."""
    found = shutil.which("iptables-save")
    return bool(found) and "nft" in os.path.basename(os.path.realpath(found))


def _run(argv: list[str], data: str | None = None) -> str:
    proc = subprocess.run(argv, input=data, capture_output=True, text=True)
    if proc.returncode != 0:
        raise FirewallError(f"{argv[0]}: {proc.stderr.strip() or 'failed'}")
    return proc.stdout


class IptablesFirewall(Firewall):
    name = "iptables"

    def __init__(self, prefix: str) -> None:
        self.ident = prefix
        self.chains = {role: f"{prefix}-{suffix}" for role, (_, suffix) in _ROLES.items()}

    def _render(self, r: Rule, tag: str) -> str:
        args = []
        for flag, value in (("-s", r.saddr), ("-d", r.daddr)):
            if value:
                args += [flag, value]
        for flag, value, negate in (("-i", r.iif, r.iif_not), ("-o", r.oif, r.oif_not)):
            if value:
                args += (["!"] if negate else []) + [flag, value]
        if r.proto:
            args += ["-p", r.proto, "-m", r.proto, "--dport", str(r.dport)]
        if r.ct:
            args += ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED" if r.ct == "reply" else "DNAT"]
        args += ["-m", "comment", "--comment", tag]
        kind, _, arg = r.verdict.partition(":")
        if kind == "jump":
            args += ["-j", self.chains[arg]]
        elif kind == "dnat":
            args += ["-j", "DNAT", "--to-destination", arg]
        else:
            args += ["-j", kind.upper()]
        return f"-A {self.chains[r.chain]} " + " ".join(args)

    def _save(self) -> dict[str, list[str]]:
        """iptables-save output, lines per table (tables that do not exist are empty)."""
        tables: dict[str, list[str]] = {t: [] for t in _TABLES}
        current = None
        for line in _run(["iptables-save"]).splitlines():
            if line.startswith("*"):
                current = line[1:]
            elif current in tables and line and line[0] in ":-":
                tables[current].append(line)
        return tables

    def _restore(self, sections: dict[str, list[str]]) -> None:
        script = "".join(f"*{t}\n" + "".join(line + "\n" for line in lines) + "COMMIT\n"
                         for t, lines in sections.items() if lines)
        if script:
            _run(["iptables-restore", "-w", "--noflush"], script)

    def _existing(self, saved: dict[str, list[str]]) -> list[tuple[str, str]]:
        """(table, chain) of pyns's chains that exist."""
        declared = {(t, line[1:].split()[0]) for t, lines in saved.items() for line in lines if line.startswith(":")}
        return [(table, self.chains[role]) for role, (table, _) in _ROLES.items()
                if (table, self.chains[role]) in declared]

    def _jump_lines(self, which: tuple[tuple[str, str, str], ...]) -> list[tuple[str, str]]:
        """(table, ``-A BUILTIN ...`` line as iptables-save prints it) of each jump in which."""
        return [(table, f"-A {builtin} {rule.format(**self.chains)}") for table, builtin, rule in which]

    def _base(self, saved: dict[str, list[str]]) -> dict[str, list[str]]:
        """Lines creating whichever of pyns's chains and jumps are missing, deleting superseded jumps."""
        out: dict[str, list[str]] = {t: [] for t in _TABLES}
        existing = self._existing(saved)
        for role, (table, _) in _ROLES.items():
            if (table, self.chains[role]) not in existing:
                out[table].append(f":{self.chains[role]} - [0:0]")
        for table, line in self._jump_lines(_JUMPS):
            if line not in saved[table]:
                out[table].append(line)
        for table, line in self._jump_lines(_SUPERSEDED):
            if line in saved[table]:
                out[table].append("-D" + line[2:])
        return out

    def add(self, tag: str, rules: list[Rule]) -> None:
        sections = self._base(self._save())
        for r in rules:
            sections[_ROLES[r.chain][0]].append(self._render(r, tag))
        self._restore(sections)

    def _tagged(self, saved: dict[str, list[str]], tag: str | None) -> dict[str, list[str]]:
        ours = set(self.chains.values())
        return {t: [line for line in lines if line.startswith("-A ") and line.split()[1] in ours
                    and (m := _COMMENT.search(line)) and (tag is None or m.group(1) == tag)]
                for t, lines in saved.items()}

    def remove(self, tag: str, chain: str | None = None) -> None:
        doomed = self._tagged(self._save(), tag)
        self._restore({t: ["-D" + line[2:] for line in lines] for t, lines in doomed.items()})

    def tags(self, chain: str | None = None) -> set[str]:
        if chain is not None and _nf_tables_based():
            try:
                comments = nfnl.chain_comments(_ROLES[chain][0], self.chains[chain])
            except OSError:
                comments = None
            if comments is not None:  # else no chain (a flushed ruleset): ask iptables-save
                return {c for c in comments if c.startswith(TAG_PREFIX)}
        return {m.group(1) for lines in self._tagged(self._save(), None).values() for line in lines
                if (m := _COMMENT.search(line)) and m.group(1).startswith(TAG_PREFIX)}

    def destroy(self) -> None:
        saved = self._save()
        sections: dict[str, list[str]] = {t: [] for t in _TABLES}
        for table, line in self._jump_lines(_JUMPS + _SUPERSEDED):
            if line in saved[table]:
                sections[table].append("-D" + line[2:])
        existing = self._existing(saved)
        for op in ("-F", "-X"):  # flush all first: ISO1 jumps to ISO2
            for table, chain in existing:
                sections[table].append(f"{op} {chain}")
        self._restore(sections)

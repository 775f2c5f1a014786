"""Which rules of a profile apply to one container on this host.

Docker evaluates ``includes``/``excludes`` when it builds the runtime spec,
against the container's capability (bounding) set, the engine's
architecture and the running kernel; the filter then only holds the rules
that survived. Same here, so ``--cap-add SYS_ADMIN`` widens the filter
(mount, unshare, setns, an unguarded clone...) exactly as docker's does:

* excludes: the rule is dropped if the arch is listed, if *any* listed cap
  is held, or if the kernel is at least minKernel;
* includes: the rule is kept only if the arch is listed, *all* listed caps
  are held and the kernel is at least minKernel.

The result is flat (one entry per syscall name) and already in the shape
libseccomp wants, runc's conventions included: a rule whose action equals
the default is dropped (libseccomp refuses those), and a rule comparing
the same argument twice becomes one rule per comparison (OR), since
libseccomp cannot AND two comparisons of one argument.
"""
from __future__ import annotations

from pyns.records import record
from pyns.runtime.seccomp.context import Host, normalize_cap
from pyns.runtime.seccomp.profile import ACTIONS, Arg, Condition, Profile, action_value


@record(frozen=True)
class Syscall:
    """One libseccomp rule: action (kernel return value) when name's args match."""

    name: str
    action: int
    args: tuple[Arg, ...] = ()


@record(frozen=True)
class Effective:
    """A profile resolved for one container: what the compiler turns into BPF."""

    default_action: int
    architectures: tuple[str, ...]  # SCMP_ARCH_* besides the native one
    syscalls: tuple[Syscall, ...]
    # Every name the applicable rules mention, including rules dropped for
    # matching the default: what "a syscall the profile knows" means.
    mentioned: tuple[str, ...] = ()

    @property
    def default_is_errno(self) -> bool:
        return self.default_action & 0xFFFF0000 == ACTIONS["SCMP_ACT_ERRNO"]


def _excluded(c: Condition, caps: frozenset[str], host: Host) -> bool:
    return bool((c.arches and host.arch in c.arches)
                or any(cap in caps for cap in c.caps)
                or (c.min_kernel and host.kernel >= c.min_kernel))


def _included(c: Condition, caps: frozenset[str], host: Host) -> bool:
    return not ((c.arches and host.arch not in c.arches)
                or any(cap not in caps for cap in c.caps)
                or (c.min_kernel and host.kernel < c.min_kernel))


def _architectures(profile: Profile, host: Host) -> tuple[str, ...]:
    if profile.architectures:
        return profile.architectures
    for entry in profile.arch_map:
        if entry.architecture == host.scmp_arch:
            return (entry.architecture, *entry.sub_architectures)
    return ()


def _arg_groups(args: tuple[Arg, ...]) -> list[tuple[Arg, ...]]:
    """AND of all comparisons, unless one argument is compared twice: then each alone (OR)."""
    indexes = [a.index for a in args]
    if len(set(indexes)) == len(indexes):
        return [args]
    return [(a,) for a in args]


def resolve(profile: Profile, capabilities: frozenset[str], host: Host | None = None) -> Effective:
    """Apply includes/excludes for these capabilities (any spelling) on this host."""
    host = host or Host.current()
    caps = frozenset(normalize_cap(c) for c in capabilities)
    default = action_value(profile.default_action, profile.default_errno_ret)
    out: list[Syscall] = []
    mentioned: set[str] = set()
    for rule in profile.syscalls:
        if _excluded(rule.excludes, caps, host) or not _included(rule.includes, caps, host):
            continue
        mentioned.update(rule.names)
        action = action_value(rule.action, rule.errno_ret)
        if action == default:
            continue
        for group in _arg_groups(rule.args):
            out.extend(Syscall(name, action, group) for name in rule.names)
    return Effective(default, _architectures(profile, host), tuple(out), tuple(sorted(mentioned)))

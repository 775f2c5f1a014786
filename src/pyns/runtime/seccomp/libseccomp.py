"""libseccomp.so.2 through cffi's ABI mode, loaded only when something must be compiled.

ABI mode needs no compiler and no headers at install time, and pyns's
native module stays free of a libseccomp link (a host without it can
still run containers unconfined). The declarations are libseccomp's
stable public API (2.4+). Parsing them costs tens of milliseconds, so
this module is imported lazily: a container start that hits the program
cache never loads it.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pyns.errors import PynsError

LIBRARY = "libseccomp.so.2"

CDEF = """
typedef void *scmp_filter_ctx;
typedef uint64_t scmp_datum_t;
struct scmp_version { unsigned int major; unsigned int minor; unsigned int micro; };
enum scmp_filter_attr {
    _SCMP_FLTATR_MIN = 0, SCMP_FLTATR_ACT_DEFAULT = 1, SCMP_FLTATR_ACT_BADARCH = 2,
    SCMP_FLTATR_CTL_NNP = 3, SCMP_FLTATR_CTL_TSYNC = 4, SCMP_FLTATR_API_TSKIP = 5,
    SCMP_FLTATR_CTL_LOG = 6, SCMP_FLTATR_CTL_SSB = 7, SCMP_FLTATR_CTL_OPTIMIZE = 8,
    SCMP_FLTATR_API_SYSRAWRC = 9
};
enum scmp_compare {
    _SCMP_CMP_MIN = 0, SCMP_CMP_NE = 1, SCMP_CMP_LT = 2, SCMP_CMP_LE = 3, SCMP_CMP_EQ = 4,
    SCMP_CMP_GE = 5, SCMP_CMP_GT = 6, SCMP_CMP_MASKED_EQ = 7
};
struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; scmp_datum_t datum_a; scmp_datum_t datum_b; };
const struct scmp_version *seccomp_version(void);
scmp_filter_ctx seccomp_init(uint32_t def_action);
void seccomp_release(scmp_filter_ctx ctx);
uint32_t seccomp_arch_resolve_name(const char *arch_name);
uint32_t seccomp_arch_native(void);
int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
int seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value);
int seccomp_syscall_resolve_name(const char *name);
int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);
int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
                           unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);
"""

NR_SCMP_ERROR = -1  # seccomp_syscall_resolve_name: a name libseccomp does not know


class Library:
    """The loaded library: ffi, lib handle, version and the file it came from."""

    def __init__(self) -> None:
        import cffi  # only here: it pulls in pycparser

        self.ffi = cffi.FFI()
        self.ffi.cdef(CDEF)
        try:
            self.lib: Any = self.ffi.dlopen(LIBRARY)
        except OSError as e:
            raise PynsError(f"seccomp needs {LIBRARY} (Debian: apt-get install libseccomp2): {e}") from None
        v = self.lib.seccomp_version()
        self.version = f"{v.major}.{v.minor}.{v.micro}"
        self.path = _mapped_path("libseccomp.so")


def _mapped_path(fragment: str) -> str:
    """The file a loaded library was mapped from (so the cache can notice an upgrade)."""
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and fragment in os.path.basename(parts[5].strip()):
                return parts[5].strip()
    return ""


@lru_cache(maxsize=1)
def load() -> Library:
    return Library()

"""Build arguments: ``--build-arg`` values, ARG declarations and their scopes.

Docker's rules: ARGs before the first FROM are *global* and only usable in
FROM lines; a stage sees an argument only after declaring it (``ARG X``
re-declares a global one and picks up its value); a ``--build-arg`` value
beats the Dockerfile default; ENV beats ARG; the proxy variables are
usable without being declared but stay out of the image history unless
declared. Arguments given but never declared earn a warning. Pure.
"""
from __future__ import annotations

from collections.abc import Mapping

PROXY_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"})


class BuildArgs:
    """The values given for the build, the global scope, and what was used."""

    def __init__(self, given: Mapping[str, str | None], predefined: Mapping[str, str] | None = None) -> None:
        self.given = dict(given)
        self.meta: dict[str, str | None] = dict(predefined or {})
        self.consumed: set[str] = set()

    def _value(self, name: str, default: str | None, fallback: Mapping[str, str | None]) -> str | None:
        given = self.given.get(name)
        if given is not None:
            return given
        if default is not None:
            return default
        return fallback.get(name)

    def declare_global(self, name: str, default: str | None) -> None:
        """An ARG before the first FROM (``default`` already expanded)."""
        self.meta[name] = self._value(name, default, {})
        self.consumed.add(name)

    def global_env(self) -> dict[str, str]:
        """What FROM lines (image, ``--platform``) are expanded with."""
        return {k: v for k, v in self.meta.items() if v is not None}

    def stage(self) -> StageArgs:
        return StageArgs(self)

    def unconsumed(self) -> list[str]:
        return sorted(k for k in self.given if k not in self.consumed and k not in PROXY_ARGS)

    def warning(self) -> str | None:
        """docker's end-of-build warning for build args no ARG asked for."""
        unused = self.unconsumed()
        if not unused:
            return None
        return f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed"


class StageArgs:
    """The arguments one stage has declared, in declaration order."""

    def __init__(self, build: BuildArgs) -> None:
        self.build = build
        self.declared: dict[str, str | None] = {}

    def declare(self, name: str, default: str | None) -> None:
        """``ARG name[=default]`` inside the stage (``default`` already expanded)."""
        self.declared[name] = self.build._value(name, default, self.build.meta)
        self.build.consumed.add(name)

    def _allowed(self) -> dict[str, str]:
        values = {k: v for k, v in self.declared.items() if v is not None}
        for name in PROXY_ARGS:
            given = self.build.given.get(name)
            if name not in self.declared and given is not None:
                values[name] = given
        return values

    def without(self, config_env: Mapping[str, str]) -> dict[str, str]:
        """Argument values not shadowed by the image's ENV (docker's FilterAllowed)."""
        return {k: v for k, v in self._allowed().items() if k not in config_env}

    def expansion_env(self, config_env: Mapping[str, str]) -> dict[str, str]:
        """What ``$VAR`` sees in an instruction: ENV first, then arguments."""
        return {**self.without(config_env), **config_env}

    def history_prefix(self, config_env: Mapping[str, str]) -> list[str]:
        """``|N K=V ...`` that RUN's history and cache key carry, sorted like docker's."""
        pairs = sorted(f"{k}={v}" for k, v in self.without(config_env).items()
                       if k not in PROXY_ARGS or k in self.declared)
        return [f"|{len(pairs)}", *pairs] if pairs else []

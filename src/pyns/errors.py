"""One exception hierarchy for the whole engine.

The CLI maps every :class:`PynsError` to a single ``Error: ...`` line and the
exit code in :attr:`PynsError.exit_code` (docker's convention: 125 for an
engine error, 126/127 when the container's command cannot be run).
"""
from __future__ import annotations


class PynsError(Exception):
    """Base class: anything the engine reports to a user."""

    exit_code: int = 125


class InvalidArgument(PynsError, ValueError):
    """A flag, spec or reference given by the user is malformed."""


class NotFound(PynsError, LookupError):
    """Base for lookups that found nothing."""


class ImageNotFound(NotFound):
    """No local image matches the reference or id."""


class ContainerNotFound(NotFound):
    """No container matches the id, id prefix or name."""


class NetworkNotFound(NotFound):
    """No network matches the name or id."""


class AmbiguousId(PynsError):
    """An id prefix matches more than one object."""


class NameConflict(PynsError):
    """The requested container name is already in use."""


class Conflict(PynsError):
    """The object is in a state that forbids the operation (running, in use)."""


class RegistryError(PynsError):
    """A registry refused or failed a request."""


class BuildError(PynsError):
    """A Dockerfile build failed."""


class LayerError(PynsError):
    """A layer tarball is malformed or hostile (path escape, bad digest)."""


class CgroupError(PynsError):
    """Creating, configuring or removing a cgroup failed."""


class RuntimeFailure(PynsError):
    """The native runtime failed to start a container process.

    ``step`` names the child-side step that failed (``mount``, ``exec``, ...)
    and ``errno`` the error it hit; exit_code is 126 or 127 for exec failures
    like docker's.
    """

    def __init__(self, message: str, step: str = "", errno: int = 0, exit_code: int = 125):
        super().__init__(message)
        self.step = step
        self.errno = errno
        self.exit_code = exit_code


class ContainerError(PynsError):
    """A container run through the library exited with a non-zero code."""

    def __init__(self, container: object, exit_status: int, command: object, image: str, stderr: bytes | None):
        self.container = container
        self.exit_status = exit_status
        self.command = command
        self.image = image
        self.stderr = stderr
        err = f": {stderr.decode(errors='replace').strip()}" if stderr else ""
        super().__init__(f"Command '{command}' in image '{image}' returned non-zero exit status {exit_status}{err}")
        self.exit_code = exit_status

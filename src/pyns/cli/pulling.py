"""`pyns pull` and the progress it prints, without click (the fast path
runs it; see pyns.cli.quick), and the pull `run`/`create` do for a missing image."""
from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any


class ProgressPrinter:
    """Renders pull/push progress events like the docker CLI.

    On a terminal each layer keeps one line that is rewritten in place
    (status and a progress bar); otherwise every status change is one plain
    line (``<id>: Pull complete``) and byte counts are skipped. Usable as
    the ``progress`` callback of ``engine.images.pull``/``push``.
    """

    BAR_WIDTH = 50

    def __init__(self, err: bool = False, tty: bool | None = None) -> None:
        self.err = err
        self.tty = (sys.stderr if err else sys.stdout).isatty() if tty is None else tty
        self._lines: list[str] = []

    def __call__(self, event: Any) -> None:
        if not self.tty:
            if not event.is_progress:
                self._print(f"{event.id}: {event.status}" if event.id else event.status)
            return
        text = f"{event.id}: {event.status}" if event.id else event.status
        if event.is_progress:
            text += " " + self.bar(event.current, event.total)
        if not event.id or event.id not in self._lines:
            if event.id:
                self._lines.append(event.id)
            else:
                self._lines = []
            self._print(text)
            return
        up = len(self._lines) - self._lines.index(event.id)
        self._print(f"\x1b[{up}A\x1b[2K\r{text}\x1b[{up}B\r", end="")

    def _print(self, text: str, end: str = "\n") -> None:
        print(text, end=end, file=sys.stderr if self.err else sys.stdout, flush=True)

    @classmethod
    def bar(cls, current: int, total: int | None) -> str:
        """``[=====>      ]  1.2MB/3.4MB`` (docker's jsonmessage progress)."""
        from pyns.formatting import human_size

        if not total:
            return f"{human_size(current):>8}"
        filled = min(cls.BAR_WIDTH, int(current * cls.BAR_WIDTH / total))
        arrow = ">" if filled < cls.BAR_WIDTH else ""
        bar = "=" * filled + arrow + " " * (cls.BAR_WIDTH - filled - len(arrow))
        return f"[{bar}] {human_size(current):>8}/{human_size(total)}"


def pull_missing(eng: Any, image: str, platform: str | None = None) -> None:
    """What `run`/`create` do for an image that is not here: pull it, reporting on stderr like docker."""
    from pyns.errors import ImageNotFound
    from pyns.images.reference import parse

    try:
        eng.image_store.get(image)
        return
    except ImageNotFound:
        pass
    from pyns.images.digest import is_hex_id

    if is_hex_id(image.removeprefix("sha256:")):
        raise ImageNotFound(f"No such image: {image}")  # an id is never pulled
    ref = parse(image)
    print(f"Unable to find image '{ref.with_default_tag().familiar()}' locally", file=sys.stderr, flush=True)
    result = eng.images.pull_result(image, platform=platform, progress=ProgressPrinter(err=True))
    print(result.status(ref), file=sys.stderr, flush=True)


def pull(obj: dict[str, Any], platform: str | None, quiet: bool, name: str) -> int:
    """docker pull: progress (unless quiet), the status line, then the reference."""
    from pyns.cli.common import engine
    from pyns.images.reference import parse

    ref = parse(name)
    if ref.tag is None and ref.digest is None and not quiet:
        print("Using default tag: latest", flush=True)
    result = engine(obj).images.pull_result(name, platform=platform, progress=None if quiet else ProgressPrinter())
    if not quiet:
        print(result.status(ref))
    print(ref.with_default_tag().string())
    return 0

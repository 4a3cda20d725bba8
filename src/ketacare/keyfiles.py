"""A secret made once and kept in a file (the demo's and a development set-up's keys, under var/).

Two processes starting together on a fresh directory (gunicorn's workers, the test suite's
workers) must end up with the same key: the key is written to a file of its own, then linked
into place, which fails if another process got there first; the loser reads the winner's key.
A reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The key in `path`, made with `make()` (and kept, mode 0600) if there is none yet."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as file:
                file.write(make())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(draft, path)
        finally:
            os.unlink(draft)
    return path.read_text().strip()

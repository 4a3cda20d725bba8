"""The clinic's own settings over the published defaults in `clinical/`: the JSON files that
KETACARE_SCREENING_RULES, KETACARE_PROTOCOLS and KETACARE_CHECKLIST name (read again when the file
changes), and the system checks by which `ketacare check` (and every start) refuses a setting that
does not fit, naming the problem."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

T = TypeVar("T")


def overrides_file(
    setting: str, with_overrides: Callable[[Mapping[str, Any]], T], error: type[ValueError], expected: str
) -> Callable[[], T]:
    """What is in force: the defaults as `with_overrides` changes them by the JSON object in the
    file that `settings.<setting>` names (no file, no changes), read again when the file changes.
    A file that cannot be read, that is not an object (`expected` says what it must hold), or that
    `with_overrides` refuses with a ValueError raises `error`."""

    @lru_cache(maxsize=4)
    def load(path: str | None, mtime: float) -> T:
        if path is None:
            return with_overrides({})
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise error(f"cannot read {path}: {exc}") from None
        if not isinstance(data, dict):
            raise error(expected)
        try:
            return with_overrides(data)
        except ValueError as exc:
            raise error(str(exc)) from None

    def current() -> T:
        path = getattr(settings, setting)
        return load(path, Path(path).stat().st_mtime if path and Path(path).exists() else 0.0)

    return current


def refuse_on_error(
    load: Callable[[], object],
    error: type[Exception],
    *,
    check_id: str,
    name: str | None = None,
    hint: str | None = None,
) -> Callable[..., list[CheckMessage]]:
    """Register a system check that runs `load()` and, when it raises `error`, refuses with
    `check_id` and the error's words (after the setting's `name`, when given)."""

    def check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
        try:
            load()
        except error as exc:
            return [Error(f"{name}: {exc}" if name else str(exc), hint=hint, id=check_id)]
        return []

    return register()(check)

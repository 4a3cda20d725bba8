"""Licensed item wording, loaded by a clinic that holds the licence.

KetaCare ships the full wording only where the licence allows (PHQ-9, GAD-7, PCL-5); for EPDS,
QIDS-SR16, MADRS, CADSS and the C-SSRS screener it ships short labels. A clinic with permission
points KETACARE_LICENSED_WORDING at a JSON file:

    {"epds": {"stem": "...", "items": ["...", ... one per item],
              "options": [["...", "...", "...", "..."], ... optional, one list per item]}}

Forms then show that wording; scoring never changes (it works on option positions).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ketacare.clinical import instruments
from ketacare.clinical.instruments.base import Instrument


class WordingError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Wording:
    stem: str | None
    items: tuple[str, ...]
    options: tuple[tuple[str, ...], ...] | None


def parse(data: object) -> dict[str, Wording]:
    """Check a wording file against the scales; every problem names the scale and the field."""
    if not isinstance(data, dict):
        raise WordingError("the file must hold an object keyed by scale code")
    result: dict[str, Wording] = {}
    for code, entry in data.items():
        if code not in instruments.CODES:
            raise WordingError(f"{code!r} is not a scale (known: {', '.join(instruments.CODES)})")
        scale = instruments.get(code)
        if not isinstance(entry, dict) or not isinstance(entry.get("items"), list):
            raise WordingError(f"{code}: 'items' must be a list of item texts")
        items = entry["items"]
        if len(items) != len(scale.items) or not all(isinstance(t, str) and t.strip() for t in items):
            raise WordingError(f"{code}: 'items' needs {len(scale.items)} non-empty texts, got {len(items)}")
        options = entry.get("options")
        if options is not None:
            if not isinstance(options, list) or len(options) != len(scale.items):
                raise WordingError(f"{code}: 'options' needs one list per item ({len(scale.items)})")
            for n, (item, labels) in enumerate(zip(scale.items, options, strict=True), start=1):
                if not isinstance(labels, list) or len(labels) != len(item.options):
                    raise WordingError(f"{code}: item {n} needs {len(item.options)} option labels")
        stem = entry.get("stem")
        result[code] = Wording(
            stem=str(stem) if stem else None,
            items=tuple(items),
            options=tuple(tuple(str(x) for x in labels) for labels in options) if options else None,
        )
    return result


@functools.cache
def _load(path: str) -> dict[str, Wording]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WordingError(f"cannot read {path}: {exc}") from None
    return parse(data)


def licensed() -> dict[str, Wording]:
    path = settings.LICENSED_WORDING_FILE
    return _load(str(path)) if path else {}


def item_text(scale: Instrument, index: int) -> str:
    wording = licensed().get(scale.code)
    item = scale.items[index]
    return wording.items[index] if wording else (item.text or item.label)


def option_labels(scale: Instrument, index: int) -> list[str]:
    wording = licensed().get(scale.code)
    if wording and wording.options:
        return list(wording.options[index])
    return [o.label for o in scale.items[index].options]


def stem(scale: Instrument) -> str:
    wording = licensed().get(scale.code)
    return wording.stem if wording and wording.stem else scale.stem

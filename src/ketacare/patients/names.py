"""Search keys for names: case, accents, spaces and punctuation folded away, so "O'Brien",
"obrien" and "O BRIEN" all find the same patient, and "Muller" finds "Müller", with one indexed
range scan. Letters of any script are kept."""

from __future__ import annotations

import re
import unicodedata


def name_key(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# Between the parts of a family name: spaces and hyphens (the hyphen-minus and Unicode's hyphens
# and dashes). An apostrophe ("O'Neill") joins, as in `name_key`.
_PART_BREAK = re.compile(r"[\s\-\u2010-\u2015]+")


def later_part_keys(family_name: str) -> list[str]:
    """The search keys of a family name's parts after the first ("O'Neill-Testa": ["testa"];
    "de la Cruz": ["la", "cruz"]), so a search finds the patient by any part. The first part
    needs none: it begins the whole name's key."""
    keys = [name_key(part) for part in _PART_BREAK.split(family_name)]
    keys = [key for key in keys if key]
    return list(dict.fromkeys(keys[1:]))

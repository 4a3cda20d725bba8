"""Search keys for names: case, accents, spaces and punctuation folded away, so "O'Brien",
"obrien" and "O BRIEN" all find the same patient, and "Muller" finds "Müller", with one indexed
range scan. Letters of any script are kept."""

from __future__ import annotations

import unicodedata


def name_key(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)

"""Counting what one address does in an hour (forms sent, codes asked for, wrong codes), for the
public forms' limits. The address is kept only as a digest, in the cache, for the hour; never
logged."""

from __future__ import annotations

import hashlib

from django.core.cache import cache

HOUR = 3600


def _key(what: str, address: str | None) -> str:
    return f"ketacare:{what}:" + hashlib.sha256((address or "unknown").encode()).hexdigest()[:32]


def counted(what: str, address: str | None) -> int:
    """How many times `what` happened from this address in its hour."""
    return int(cache.get(_key(what, address)) or 0)


def count(what: str, address: str | None) -> int:
    """Count one more `what` from this address; returns the count now."""
    key = _key(what, address)
    cache.add(key, 0, HOUR)
    try:
        return int(cache.incr(key))
    except ValueError:  # the hour ended between add and incr
        cache.set(key, 1, HOUR)
        return 1

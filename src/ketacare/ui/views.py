"""Helpers shared by every app's views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.http import Http404


@contextmanager
def missing_as_404(missing: type[Exception], said: str) -> Iterator[None]:
    """A record a selector did not find (`missing`: its DoesNotExist) is a 404 page saying `said`."""
    try:
        yield
    except missing:
        raise Http404(said) from None

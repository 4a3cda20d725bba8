"""Helpers shared by every app's views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest


@contextmanager
def missing_as_404(missing: type[Exception], said: str) -> Iterator[None]:
    """A record a selector did not find (`missing`: its DoesNotExist) is a 404 page saying `said`."""
    try:
        yield
    except missing:
        raise Http404(said) from None


def require_perm(request: HttpRequest, perm: str) -> None:
    """A page open to more people than may post to it: the post needs `perm` as well (403)."""
    if not request.user.has_perm(perm):
        raise PermissionDenied

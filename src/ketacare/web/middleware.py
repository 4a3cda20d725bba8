"""Headers every page gets."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """Nothing the app answers is kept by the browser or a proxy: pages, PDFs, CSVs and API
    answers carry patient data, and a stored copy would show again on Back after sign-out or to
    the next user of a shared computer (HIPAA 164.312(a)(2)(iii), automatic logoff, would be
    defeated). Static files are served before this (WhiteNoise) and stay cacheable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(
            response
        )  # Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private
        return response

"""Markdown written by the clinic (its public pages, its consent documents) made safe to show:
raw HTML is shown as text, never run, and links may only go to the web, e-mail or a phone."""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt

ALLOWED_LINKS = ("https://", "http://", "mailto:", "tel:", "#", "/")


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    default_validate = md.validateLink
    md.validateLink = lambda url: default_validate(url) and url.strip().lower().startswith(ALLOWED_LINKS)  # type: ignore[method-assign]
    return md


def render(text: str) -> str:
    """Markdown to HTML that can hold no script: HTML in the text is escaped, and a link to
    anything but the web, e-mail or a phone is left as plain text."""
    return str(_markdown().render(text))

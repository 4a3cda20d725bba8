"""Words, not codes: crawl every page of a seeded demo as each role, following the links a user
would follow, and look for the application's internal codes (protocols, routes, contexts, flags,
alarms, checklist items, decisions ...) in the text a person reads. The audit trail is the one
page that shows records as stored, by design, and is not crawled."""

import re
from collections import deque
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from ketacare.accounts.models import User
from ketacare.clinical import contraindications, monitoring, session_checks
from ketacare.measures.models import FLAG_TEXT
from tests.conftest import kept_for_the_module, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SKIP = ("/accounts/logout/", "/static/", "/api/", "/audit/", "/r/")
SKIP_ENDINGS = (".pdf", ".csv", ".json")
PER_SHAPE = 3  # pages of one shape (/patients/<id>/ ...) crawled per role
MAX_PAGES = 400


def _codes() -> set[str]:
    """Every stored code with an underscore in it: a person should never read one."""
    codes: set[str] = set()
    for model in apps.get_models():
        for f in model._meta.get_fields():
            for value, _ in getattr(f, "choices", None) or ():
                if isinstance(value, str) and "_" in value:
                    codes.add(value)
    codes |= {code for code in FLAG_TEXT if "_" in code}
    codes |= {a.value for a in monitoring.ALARM_LABELS if "_" in a.value}
    codes |= {item.code for item in session_checks.CHECKLIST if "_" in item.code}
    codes |= {rule.code for rule in contraindications.RULES if "_" in rule.code}
    return codes


class _Text(HTMLParser):
    """The text a person reads: text nodes outside script and style, and the title attributes
    and button labels they see."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "style"):
            self._hidden += 1
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        if found.get("hx-get"):  # a fragment the page loads (more rows, an answer's items)
            self.links.append(found["hx-get"] or "")
        for name in ("title", "aria-label", "placeholder"):
            if found.get(name):
                self.parts.append(found[name] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with kept_for_the_module(django_db_blocker):
        call_command("seed_demo", "--patients", "40", "--seed", "7", stdout=StringIO())
        yield


def _crawl(client) -> dict[str, str]:
    """Path -> visible text for every page reached from the home page."""
    seen_shapes: dict[str, int] = {}
    queue, visited, pages = deque(["/"]), set(), {}
    while queue and len(pages) < MAX_PAGES:
        path = queue.popleft()
        if path in visited:
            continue
        visited.add(path)
        shape = re.sub(r"\d+", "N", path.split("?")[0])
        if seen_shapes.get(shape, 0) >= PER_SHAPE:
            continue
        seen_shapes[shape] = seen_shapes.get(shape, 0) + 1
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        parser = _Text()
        parser.feed(response.content.decode())
        pages[path] = " ".join(parser.parts)
        for href in parser.links:
            href = href.split("#")[0]
            if (
                href.startswith("/")
                and not href.startswith(SKIP)
                and not href.split("?")[0].endswith(SKIP_ENDINGS)
                and href not in visited
            ):
                queue.append(href)
    return pages


@pytest.mark.parametrize("username", ["physician", "nurse", "frontdesk", "admin"])
def test_no_page_shows_an_internal_code(demo, client, username):
    codes = _codes()
    assert {"iv_ketamine_standard", "suicidal_ideation", "follow_up", "qids_sr16"} <= codes
    pattern = re.compile(
        r"\b(" + "|".join(sorted(map(re.escape, codes), key=len, reverse=True)) + r")\b", re.IGNORECASE
    )
    sign_in(client, User.objects.get(username=username))
    pages = _crawl(client)
    assert len(pages) >= (3 if username == "admin" else 10), sorted(pages)
    shown = {path: sorted(set(pattern.findall(text))) for path, text in pages.items() if pattern.search(text)}
    assert shown == {}

"""The public pages, in the order the site shows them, each with the default text shipped in
portal/content/<slug>.md (written for this project; the clinic admin rewrites any of them). Their
Markdown is shown through ui/markdown.py (shared with the consent documents): raw HTML is shown
as text, never run, and links may only go to the web, e-mail or a phone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONTENT = Path(__file__).resolve().parent / "content"


@dataclass(frozen=True, slots=True)
class Page:
    slug: str
    title: str
    summary: str  # a line on the home page

    def default_body(self) -> str:
        return (CONTENT / f"{self.slug}.md").read_text(encoding="utf-8")


PAGES = (
    Page(
        "conditions",
        "Conditions we treat",
        "Depression other treatments have not helped; also severe anxiety, PTSD, postpartum depression.",
    ),
    Page(
        "treatment",
        "How ketamine treatment works",
        "Relief often within hours or days, given as a series, then boosters.",
    ),
    Page(
        "session",
        "What a treatment session is like",
        "How to prepare, what you may feel, and going home safely.",
    ),
    Page("routes", "IV ketamine and esketamine nasal spray", "Two ways to give ketamine, compared."),
    Page(
        "evidence", "What the evidence says", "The published figures, each with what was measured and when."
    ),
    Page("costs", "Costs and questions", "Prices, insurance, referrals, and common questions."),
    Page("contact", "Contact us", "How to reach the clinic."),
)
# Shown to patients in the portal beside each appointment, by the route of their course; the
# clinic admin edits them with the public pages. Sources: the clinic's protocol (clinical
# reference section 5) and the Spravato label (food 2 hours, liquids 30 minutes, no nasal
# decongestant in the hour before; at least 2 hours' observation).
PREPARATION = (
    Page("prepare-iv", "Preparing for a ketamine treatment", "Shown to patients before IV or IM ketamine."),
    Page(
        "prepare-esketamine",
        "Preparing for an esketamine treatment",
        "Shown to patients before a nasal spray.",
    ),
)
PREPARATION_BY_ROUTE = {
    "iv_ketamine": "prepare-iv",
    "im_ketamine": "prepare-iv",
    "esketamine": "prepare-esketamine",
}
BY_SLUG = {p.slug: p for p in (*PAGES, *PREPARATION)}

"""Which score a page means by "baseline", named on the page.

Clinical reference section 2: the baseline is the last score on that scale before the first
treatment. That is often the pre-session score of treatment 1, not the score taken at the
consultation, so a bare "baseline 18" on one page and "baseline 15" on another are both right
and still mislead. Every page names the score instead: "baseline: PHQ-9 15, pre-session, 3 Dec".
"""

from __future__ import annotations

import datetime

# The measures app's rating contexts (measures.models.Context values), in a few words. A rating
# recorded in the "baseline" context was taken before treatment (at or after the consultation,
# not always on its day): it is the baseline only when nothing is scored on that scale later and
# still before the first treatment.
CONTEXT_WORDS: dict[str, str] = {
    "baseline": "before treatment",
    "pre_session": "pre-session",
    "post_session": "post-session",
    "follow_up": "follow-up",
}

# English month abbreviations, fixed here so the label does not follow the server's locale.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_date(on: datetime.date, *, today: datetime.date) -> str:
    """The day as "3 Dec" in `today`'s year, "3 Dec 2025" in any other."""
    text = f"{on.day} {MONTHS[on.month - 1]}"
    return text if on.year == today.year else f"{text} {on.year}"


def baseline_label(
    short_name: str, total: int, context: str, on: datetime.date, *, today: datetime.date
) -> str:
    """The baseline named so a reader knows which score it is: "baseline: PHQ-9 15, pre-session,
    3 Dec" (clinical reference section 2: the last score on that scale before the first
    treatment). A context KetaCare does not know is left out rather than guessed."""
    parts = [f"baseline: {short_name} {total}"]
    word = CONTEXT_WORDS.get(context)
    if word:
        parts.append(word)
    parts.append(short_date(on, today=today))
    return ", ".join(parts)

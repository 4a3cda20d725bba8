"""QIDS-SR16, Quick Inventory of Depressive Symptomatology, self-report, 16 items.

Rush AJ, Trivedi MH, Ibrahim HM, et al. The 16-item Quick Inventory of Depressive Symptomatology
(QIDS), clinician rating (QIDS-C), and self-report (QIDS-SR). Biol Psychiatry 2003;54:573-583.
Free to clinicians and researchers; KetaCare ships short labels.
"""

from __future__ import annotations

from collections.abc import Sequence

from ketacare.clinical.instruments.base import Band, Instrument, Item, Recall, options, suicide_item

LEVELS = options("0 - none", "1 - mild", "2 - moderate", "3 - severe")
_LABELS = (
    "Falling asleep",
    "Sleep during the night",
    "Waking up too early",
    "Sleeping too much",
    "Feeling sad",
    "Decreased appetite",
    "Increased appetite",
    "Decreased weight (last two weeks)",
    "Increased weight (last two weeks)",
    "Concentration and decision-making",
    "View of myself",
    "Thoughts of death or suicide",
    "General interest",
    "Energy level",
    "Feeling slowed down",
    "Feeling restless",
)
ITEMS = tuple(Item(str(n), label, LEVELS) for n, label in enumerate(_LABELS, start=1))


def total(scores: Sequence[int]) -> int:
    """Nine symptom domains: the highest of the sleep items (1-4), sad mood (5), the highest of the
    appetite/weight items (6-9), concentration (10), self-view (11), suicidal ideation (12),
    interest (13), energy (14), and the highest of the psychomotor items (15, 16) (Rush et al. 2003)."""
    s = list(scores)
    return max(s[0:4]) + s[4] + max(s[5:9]) + s[9] + s[10] + s[11] + s[12] + s[13] + max(s[14:16])


QIDS_SR16 = Instrument(
    code="qids_sr16",
    name="QIDS-SR16 (Quick Inventory of Depressive Symptomatology, self-report)",
    citation="Rush et al., Biol Psychiatry 2003;54:573-583",
    rater="patient",
    stem="Please choose the one answer for each item that best describes you for the past seven days.",
    items=ITEMS,
    # Bands: ids-qids.org scoring guide.
    bands=(
        Band(0, 5, "none"),
        Band(6, 10, "mild"),
        Band(11, 15, "moderate"),
        Band(16, 20, "severe"),
        Band(21, 27, "very severe"),
    ),
    max_total=27,
    wording="short labels",
    licence="Free to clinicians and researchers (ids-qids.org)",
    # The form's instruction, "... best describes you for the past seven days" (Rush et al. 2003);
    # its two weight items ask about change within the last two weeks.
    recall=Recall(7, "the past 7 days", note="items 8 and 9 (weight) ask about the last 2 weeks"),
    # Item 12 (thoughts of death or suicide) >= 1: KetaCare decision, clinical reference.
    safety=(suicide_item(12, min_score=1),),
    severe_bands=frozenset({"severe", "very severe"}),
    total_rule=total,
    remission_max=5,  # remission <= 5
)

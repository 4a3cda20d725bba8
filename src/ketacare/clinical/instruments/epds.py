"""EPDS, Edinburgh Postnatal Depression Scale, self-report.

Cox JL, Holden JM, Sagovsky R. Detection of postnatal depression: development of the 10-item
Edinburgh Postnatal Depression Scale. Br J Psychiatry 1987;150:782-786.
Licence: the Royal College of Psychiatrists asks for written permission to republish the wording,
online included. KetaCare ships short labels; a clinic with permission loads the wording.
"""

from ketacare.clinical.instruments.base import (
    Band,
    Instrument,
    Item,
    Recall,
    options,
    reversed_options,
    suicide_item,
)

# Items 1, 2 and 4 score 0-3 from the first option to the last; items 3 and 5-10 are reversed,
# 3-0 (Cox, Holden & Sagovsky 1987). Short option labels, not the licensed wording.
AS_BEFORE = options("As much as ever", "Rather less", "Definitely less", "Not at all")
WORRY = options("No, not at all", "Hardly ever", "Yes, sometimes", "Yes, very often")
OFTEN_FIRST = reversed_options("Most of the time", "Sometimes", "Not very often", "Never")

ITEMS = (
    Item("1", "Able to laugh and see the funny side", AS_BEFORE),
    Item("2", "Looked forward with enjoyment", AS_BEFORE),
    Item("3", "Blamed myself unnecessarily", OFTEN_FIRST),
    Item("4", "Anxious or worried for no good reason", WORRY),
    Item("5", "Scared or panicky for no good reason", OFTEN_FIRST),
    Item("6", "Things getting on top of me", OFTEN_FIRST),
    Item("7", "So unhappy I had difficulty sleeping", OFTEN_FIRST),
    Item("8", "Felt sad or miserable", OFTEN_FIRST),
    Item("9", "So unhappy I have been crying", OFTEN_FIRST),
    Item("10", "Thought of harming myself", OFTEN_FIRST),
)

EPDS = Instrument(
    code="epds",
    name="EPDS (Edinburgh Postnatal Depression Scale)",
    citation="Cox, Holden & Sagovsky, Br J Psychiatry 1987;150:782-786",
    rater="patient",
    stem="In the past 7 days:",
    items=ITEMS,
    # KetaCare decision from the published cut-offs (clinical reference): <10, 10-12, >=13.
    bands=(
        Band(0, 9, "below threshold"),
        Band(10, 12, "possible depression"),
        Band(13, 30, "probable depression"),
    ),
    max_total=30,
    wording="short labels",
    licence="Royal College of Psychiatrists: written permission needed to republish the wording",
    # The form asks how the mother has felt "in the past 7 days" (Cox, Holden & Sagovsky 1987).
    recall=Recall(7, "the past 7 days"),
    loinc_panel="71354-5",
    loinc_total="99046-5",  # as given in the clinical reference, marked there "verify before relying on it"
    # "Any score above 0 on item 10 should always prompt further assessment."
    safety=(suicide_item(10, min_score=1),),
    remission_max=9,  # EPDS < 10
)

"""MADRS, Montgomery-Asberg Depression Rating Scale, clinician-rated.

Montgomery SA, Asberg M. A new depression scale designed to be sensitive to change. Br J Psychiatry
1979;134:382-389. Bands: Snaith RP et al. Br J Psychiatry 1986;148:599-601. Licence unclear:
KetaCare ships item names and short anchor labels only.
"""

from ketacare.clinical.instruments.base import Band, Instrument, Item, Recall, options, suicide_item

# 0-6, with defined anchors at 0, 2, 4 and 6 and the odd steps between them.
ANCHORS = options("0 - absent", "1", "2 - mild", "3", "4 - moderate", "5", "6 - severe")
_NAMES = (
    "Apparent sadness",
    "Reported sadness",
    "Inner tension",
    "Reduced sleep",
    "Reduced appetite",
    "Concentration difficulties",
    "Lassitude",
    "Inability to feel",
    "Pessimistic thoughts",
    "Suicidal thoughts",
)
ITEMS = tuple(Item(str(n), name, ANCHORS) for n, name in enumerate(_NAMES, start=1))

# Remission <= 10 by default (Hawley et al., Br J Psychiatry 2002); esketamine trials used <= 12.
REMISSION_MAX_DEFAULT = 10
REMISSION_MAX_ESKETAMINE_TRIALS = 12

MADRS = Instrument(
    code="madrs",
    name="MADRS (Montgomery-Asberg Depression Rating Scale)",
    citation="Montgomery & Asberg, Br J Psychiatry 1979;134:382-389",
    stem="Rate each item from the clinical interview, for the past week.",
    items=ITEMS,
    bands=(Band(0, 6, "normal"), Band(7, 19, "mild"), Band(20, 34, "moderate"), Band(35, 60, "severe")),
    max_total=60,
    wording="short labels",
    licence="Unclear: item names and short anchor labels only",
    # Clinician-rated from the interview; by convention on the past week (the structured interview
    # guide SIGMA, Williams & Kobak, Br J Psychiatry 2008;192:52-58, asks about the past week).
    # Ketamine trials rated it 24 hours after an infusion (Murrough et al., Am J Psychiatry 2013),
    # a shorter window than the convention (clinical reference section 2).
    recall=Recall(
        7,
        "the last week",
        note="clinician-rated; ketamine trials rated it 24 hours after an infusion",
    ),
    # Item 10 (suicidal thoughts) >= 2: KetaCare decision, clinical reference.
    safety=(suicide_item(10, min_score=2),),
    severe_bands=frozenset({"severe"}),
    remission_max=REMISSION_MAX_DEFAULT,
)

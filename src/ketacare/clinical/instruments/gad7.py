"""GAD-7, Generalized Anxiety Disorder scale, self-report.

Spitzer RL, Kroenke K, Williams JBW, Lowe B. A brief measure for assessing generalized anxiety
disorder: the GAD-7. Arch Intern Med 2006;166:1092-1097. Free to reproduce, as the PHQ.
"""

from ketacare.clinical.instruments.base import Band, Instrument, Item, Recall
from ketacare.clinical.instruments.phq9 import FREQUENCY, PFIZER_LICENCE

# LOINC panel 69737-5, total 70274-6.
ITEMS = (
    Item("1", "Nervous, anxious, on edge", FREQUENCY, "Feeling nervous, anxious, or on edge", "69725-0"),
    Item("2", "Cannot stop worrying", FREQUENCY, "Not being able to stop or control worrying", "68509-9"),
    Item("3", "Worrying too much", FREQUENCY, "Worrying too much about different things", "69733-4"),
    Item("4", "Trouble relaxing", FREQUENCY, "Trouble relaxing", "69734-2"),
    Item("5", "Restless", FREQUENCY, "Being so restless that it is hard to sit still", "69735-9"),
    Item("6", "Annoyed or irritable", FREQUENCY, "Becoming easily annoyed or irritable", "69689-8"),
    Item(
        "7",
        "Afraid something awful might happen",
        FREQUENCY,
        "Feeling afraid, as if something awful might happen",
        "69736-7",
    ),
)

GAD7 = Instrument(
    code="gad7",
    name="GAD-7 (Generalized Anxiety Disorder scale)",
    citation="Spitzer et al., Arch Intern Med 2006;166:1092-1097",
    rater="patient",
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=ITEMS,
    # Bands: Spitzer et al. 2006.
    bands=(Band(0, 4, "minimal"), Band(5, 9, "mild"), Band(10, 14, "moderate"), Band(15, 21, "severe")),
    max_total=21,
    wording="shipped",
    licence=PFIZER_LICENCE,
    # The form's own stem, "Over the last 2 weeks ..." (Spitzer et al. 2006).
    recall=Recall(14, "the last 2 weeks"),
    loinc_panel="69737-5",
    loinc_total="70274-6",
    severe_bands=frozenset({"severe"}),
    remission_max=4,  # GAD-7 < 5 by convention (clinical reference; clinic-configurable later)
)

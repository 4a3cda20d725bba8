"""PHQ-9, Patient Health Questionnaire (depression), self-report.

Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity measure.
J Gen Intern Med 2001;16:606-613. Free to reproduce (Pfizer: no permission required).
"""

from ketacare.clinical.instruments.base import Band, Instrument, Item, Recall, options, suicide_item

# The PHQ answer options, also GAD-7's (Spitzer et al., Arch Intern Med 2006, built it on the PHQ
# format), and Pfizer's terms for both.
FREQUENCY = options("Not at all", "Several days", "More than half the days", "Nearly every day")
PFIZER_LICENCE = "Free to reproduce (Pfizer: no permission required)"

DIFFICULTY = options("Not difficult at all", "Somewhat difficult", "Very difficult", "Extremely difficult")

# LOINC panel 44249-1, total score 44261-6; item codes from the LOINC PHQ-9 panel.
ITEMS = (
    Item(
        "1",
        "Little interest or pleasure",
        FREQUENCY,
        "Little interest or pleasure in doing things",
        "44250-9",
    ),
    Item("2", "Feeling down or hopeless", FREQUENCY, "Feeling down, depressed, or hopeless", "44255-8"),
    Item(
        "3", "Sleep problems", FREQUENCY, "Trouble falling or staying asleep, or sleeping too much", "44259-0"
    ),
    Item("4", "Tired, little energy", FREQUENCY, "Feeling tired or having little energy", "44254-1"),
    Item("5", "Appetite", FREQUENCY, "Poor appetite or overeating", "44251-7"),
    Item(
        "6",
        "Feeling bad about yourself",
        FREQUENCY,
        "Feeling bad about yourself - or that you are a failure or have let yourself or your family down",
        "44258-2",
    ),
    Item(
        "7",
        "Trouble concentrating",
        FREQUENCY,
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "44252-5",
    ),
    Item(
        "8",
        "Moving or speaking slowly, or restless",
        FREQUENCY,
        "Moving or speaking so slowly that other people could have noticed? Or the opposite - being so "
        "fidgety or restless that you have been moving around a lot more than usual",
        "44253-3",
    ),
    Item(
        "9",
        "Thoughts of death or self-harm",
        FREQUENCY,
        "Thoughts that you would be better off dead or of hurting yourself in some way",
        "44260-8",
    ),
    Item(
        "10",
        "How difficult",
        DIFFICULTY,
        "If you checked off any problems, how difficult have these problems made it for you to do your work, "
        "take care of things at home, or get along with other people?",
        None,
        scored=False,
        required=False,
    ),
)

PHQ9 = Instrument(
    code="phq9",
    name="PHQ-9 (Patient Health Questionnaire)",
    citation="Kroenke, Spitzer & Williams, J Gen Intern Med 2001;16:606-613",
    rater="patient",
    stem="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    items=ITEMS,
    # Severity bands: Kroenke, Spitzer & Williams 2001.
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 19, "moderately severe"),
        Band(20, 27, "severe"),
    ),
    max_total=27,
    wording="shipped",
    licence=PFIZER_LICENCE,
    # The form's own stem, "Over the last 2 weeks ..." (Kroenke, Spitzer & Williams 2001).
    recall=Recall(14, "the last 2 weeks"),
    loinc_panel="44249-1",
    loinc_total="44261-6",
    # One or two missing: total = mean of answered items x 9 (NHS Data Dictionary, PHQ-9);
    # KetaCare rounds half up and marks the result incomplete.
    prorate_max_missing=2,
    # Item 9 > 0 flags suicidal ideation whatever the total (Simon et al., Psychiatr Serv 2013);
    # a blank item 9 needs clinician follow-up (KetaCare decision, clinical reference).
    safety=(suicide_item(9, min_score=1),),
    severe_bands=frozenset({"severe"}),
    remission_max=4,  # remission: PHQ-9 < 5 (clinical reference, section 2)
)

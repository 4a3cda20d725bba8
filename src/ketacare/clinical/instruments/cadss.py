"""CADSS, Clinician-Administered Dissociative States Scale, the 23-item version used in ketamine
studies, rated before dosing and at set times after.

Bremner JD, Krystal JH, Putnam FW, et al. Measurement of dissociative states with the
Clinician-Administered Dissociative States Scale (CADSS). J Trauma Stress 1998;11:125-136.
Licence not established: KetaCare ships short paraphrased labels of what each item covers, never
the published wording; a clinic holding the licence loads that wording (measures/wording.py).
"""

from ketacare.clinical.instruments.base import PRESENT_MOMENT, Instrument, Item, options

DEGREE = options("Not at all", "Slightly", "Moderately", "Considerably", "Extremely")

# Paraphrases, not the published questions. Items 1-19 are asked of the patient ("at this time, in
# this room") and follow Table 1 of Bremner et al. 1998; by content they fall into derealisation
# (1, 2, 8-13, 16-19), depersonalisation (3-7) and amnesia (14, 15), the 12/5/2 item counts of
# Niciu et al. (J Affect Disord 2018, CADSS subscales and ketamine response). Items 20-23 are rated
# by the clinician from what they saw. Item 20 follows the same table; the copy of it consulted
# ended there, so the labels of items 21-23 come from the published form as remembered and must be
# checked against the clinic's licensed form.
LABELS = (
    "Things moving in slow motion",
    "Things seem unreal / dreamlike",
    "Cut off from events, as if in a film",
    "Seeing things from outside the body",
    "Separated from self (watching self)",
    "Disconnected from own body",
    "Body feels changed (size or shape)",
    "People seem lifeless or mechanical",
    "Objects look different than expected",
    "Colours seem dimmer",
    "Tunnel or wide-angle vision",
    "Time seems to stretch out",
    "Time rushes (a lifetime in a moment)",
    "Things happen that cannot be accounted for",
    "Spacing out, losing track of events",
    "Sounds fade or grow much louder",
    "Things seem vivid, unusually real",
    "World seen through a fog",
    "Colours seem much brighter",
    "Seemed strange or eerie (observed)",
    "Blanked out or stared (observed)",
    "Seemed detached from events (observed)",
    "Needed redirecting (observed)",
)
# Codes "1".."23" are what stored answers are keyed by: never renumber.
ITEMS = tuple(Item(str(n), label, DEGREE) for n, label in enumerate(LABELS, start=1))

# Esketamine trials counted dissociation as a CADSS total above 4 with a rise from the pre-dose
# rating; it peaks near 40 minutes and usually resolves by 1.5 hours (Janssen medical information).
DISSOCIATION_TOTAL_ABOVE = 4


def dissociation_present(*, total: int, pre_dose_total: int | None) -> bool:
    """Dissociation as the esketamine trials counted it: a total above 4 that has risen from the
    pre-dose rating (when there is one)."""
    if total <= DISSOCIATION_TOTAL_ABOVE:
        return False
    return pre_dose_total is None or total > pre_dose_total


CADSS = Instrument(
    code="cadss",
    name="CADSS (Clinician-Administered Dissociative States Scale, 23 items)",
    citation="Bremner et al., J Trauma Stress 1998;11:125-136",
    stem="Rate the patient's dissociative experience at this time point.",
    items=ITEMS,
    bands=(),  # no published severity bands: the total and its change from pre-dose are what count
    max_total=92,
    wording="short labels",
    licence="Unclear: paraphrased labels, not the published wording",
    # Asked "at this time, in this room" (Bremner et al. 1998): the state during the session.
    recall=PRESENT_MOMENT,
)

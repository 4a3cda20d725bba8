"""CADSS, Clinician-Administered Dissociative States Scale, the 23-item version used in ketamine
studies, rated before dosing and at set times after.

Bremner JD, Krystal JH, Putnam FW, et al. Measurement of dissociative states with the
Clinician-Administered Dissociative States Scale (CADSS). J Trauma Stress 1998;11:125-136.
Licence unknown: KetaCare ships numbered items only; a clinic loads the licensed wording.
"""

from ketacare.clinical.instruments.base import Instrument, Item, options

DEGREE = options("Not at all", "Slightly", "Moderately", "Considerably", "Extremely")
ITEMS = tuple(Item(str(n), f"CADSS item {n}", DEGREE) for n in range(1, 24))

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
    rater="clinician",
    stem="Rate the patient's dissociative experience at this time point.",
    items=ITEMS,
    bands=(),  # no published severity bands: the total and its change from pre-dose are what count
    max_total=92,
    wording="short labels",
    licence="Unknown: numbered items only",
    prorate_max_missing=0,
)

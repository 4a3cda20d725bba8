"""PCL-5, PTSD Checklist for DSM-5, self-report.

Weathers FW, Litz BT, Keane TM, Palmieri PA, Marx BP, Schnurr PP. The PTSD Checklist for DSM-5
(PCL-5). National Center for PTSD, 2013. Public domain.
"""

from __future__ import annotations

from collections.abc import Sequence

from ketacare.clinical.instruments.base import Answer, Band, Instrument, Item, Recall, Score, options

BOTHERED = options("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely")

_TEXT = (
    ("Unwanted memories", "Repeated, disturbing, and unwanted memories of the stressful experience?"),
    ("Disturbing dreams", "Repeated, disturbing dreams of the stressful experience?"),
    (
        "Reliving it",
        "Suddenly feeling or acting as if the stressful experience were actually happening again "
        "(as if you were actually back there reliving it)?",
    ),
    ("Upset by reminders", "Feeling very upset when something reminded you of the stressful experience?"),
    (
        "Physical reactions to reminders",
        "Having strong physical reactions when something reminded you of the "
        "stressful experience (for example, heart pounding, trouble breathing, sweating)?",
    ),
    ("Avoiding memories", "Avoiding memories, thoughts, or feelings related to the stressful experience?"),
    (
        "Avoiding reminders",
        "Avoiding external reminders of the stressful experience (for example, people, "
        "places, conversations, activities, objects, or situations)?",
    ),
    ("Trouble remembering", "Trouble remembering important parts of the stressful experience?"),
    (
        "Negative beliefs",
        "Having strong negative beliefs about yourself, other people, or the world (for "
        "example, having thoughts such as: I am bad, there is something seriously wrong with me, "
        "no one can be trusted, the world is completely dangerous)?",
    ),
    ("Blame", "Blaming yourself or someone else for the stressful experience or what happened after it?"),
    ("Negative feelings", "Having strong negative feelings such as fear, horror, anger, guilt, or shame?"),
    ("Loss of interest", "Loss of interest in activities that you used to enjoy?"),
    ("Feeling distant", "Feeling distant or cut off from other people?"),
    (
        "Trouble with positive feelings",
        "Trouble experiencing positive feelings (for example, being unable to "
        "feel happiness or have loving feelings for people close to you)?",
    ),
    ("Irritable or aggressive", "Irritable behavior, angry outbursts, or acting aggressively?"),
    ("Risk-taking", "Taking too many risks or doing things that could cause you harm?"),
    ("Superalert", 'Being "superalert" or watchful or on guard?'),
    ("Jumpy", "Feeling jumpy or easily startled?"),
    ("Difficulty concentrating", "Having difficulty concentrating?"),
    ("Sleep", "Trouble falling or staying asleep?"),
)
ITEMS = tuple(Item(str(n), label, BOTHERED, text) for n, (label, text) in enumerate(_TEXT, start=1))

# DSM-5 symptom clusters (item numbers): B intrusion, C avoidance, D negative alterations in
# cognition and mood, E arousal and reactivity. An item rated 2 ("Moderately") or higher counts
# as endorsed; a provisional diagnosis needs >=1 B, >=1 C, >=2 D and >=2 E (National Center for PTSD).
CLUSTERS = {"B": range(1, 6), "C": range(6, 8), "D": range(8, 15), "E": range(15, 21)}
CLUSTER_MINIMUM = {"B": 1, "C": 1, "D": 2, "E": 2}
ENDORSED_MIN = 2

# Probable PTSD: a total of 31-33 or more (National Center for PTSD); KetaCare default 33,
# clinic-configurable (clinical reference).
DEFAULT_CUTOFF = 33
# A change of 5-10 points is reliable (not due to chance), 10-20 points clinically meaningful
# (National Center for PTSD, "Using the PCL-5"). Response is read at the clinically meaningful
# change (clinical reference section 2; the rule itself is in clinical/outcomes.py).
RELIABLE_CHANGE = 5
MEANINGFUL_CHANGE = 10


class Pcl5(Instrument):
    def score(self, answers: Sequence[Answer]) -> Score:
        result = super().score(answers)
        scores = result.item_scores
        clusters: dict[str, object] = {}
        provisional = result.complete
        for name, numbers in CLUSTERS.items():
            values = [scores[n - 1] for n in numbers]
            endorsed = sum(1 for v in values if v is not None and v >= ENDORSED_MIN)
            clusters[name] = {
                "subtotal": sum(v for v in values if v is not None) if None not in values else None,
                "endorsed": endorsed,
            }
            provisional = provisional and endorsed >= CLUSTER_MINIMUM[name]
        result.extras.update(
            {"clusters": clusters, "provisional_dsm5_ptsd": provisional if result.complete else None}
        )
        return result


def pcl5_with_cutoff(cutoff: int) -> Pcl5:
    """A PCL-5 whose probable-PTSD band starts at the clinic's cut-off (31 to 33 published)."""
    instrument = Pcl5(
        code="pcl5",
        name="PCL-5 (PTSD Checklist for DSM-5)",
        citation="Weathers et al., National Center for PTSD, 2013",
        rater="patient",
        stem="In the past month, how much were you bothered by:",
        items=ITEMS,
        bands=(Band(0, cutoff - 1, "below threshold"), Band(cutoff, 80, "probable PTSD")),
        max_total=80,
        wording="shipped",
        licence="Public domain",
        # The form's own stem, "In the past month, how much were you bothered by" (Weathers et al.
        # 2013): 30 days for the arithmetic of recall_caveat.
        recall=Recall(30, "the past month"),
        loinc_panel="101697-1",
        loinc_total="101698-9",
        remission_max=cutoff - 1,  # remission: below the cut-off
    )
    return instrument


PCL5 = pcl5_with_cutoff(DEFAULT_CUTOFF)

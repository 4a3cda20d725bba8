"""Contraindications and precautions to ketamine treatment, per route, each with its source.

Two routes: IV racemic ketamine (off-label; protocol `iv_ketamine_standard`) and esketamine nasal
spray (protocol `esketamine_nasal`). The classification follows one principle, written down so a
reviewer can check it:
- Esketamine: the contraindications in the Spravato prescribing information (section 4:
  aneurysmal vascular disease or arteriovenous malformation, history of intracerebral
  haemorrhage, hypersensitivity) are absolute; its warnings and precautions are relative.
- IV ketamine: the Ketalar prescribing information's contraindications (hypersensitivity;
  patients in whom a significant rise in blood pressure would be a serious hazard) and the
  exclusions commonly applied by ketamine services (clinical reference section 5: Oxford Health NHS
  protocol; Sanacora et al., APA consensus statement, JAMA Psychiatry 2017;74:399-405) are
  absolute; the reference's relative items (high-dose benzodiazepines, MAOIs) are relative.
- Active psychosis, active mania and suicidal intent that needs a higher level of care are
  absolute for both routes: every trial excluded them and an outpatient clinic is not the place
  to treat them (Sanacora 2017).
- The items the clinical reference (section 5, "Contraindications and interactions to add") adds
  carry the class per route decided there: cystitis, hypertensive encephalopathy, recent stroke or
  TIA, respiratory disease or sleep apnoea, opioids and other CNS depressants, thyrotoxicosis,
  acute porphyria and age 65 or over are relative for both routes; under 18 is absolute for both
  (for IV a clinic that treats adolescents may lift it with an override).
- Efficacy notes (Kind.NOTE) are drugs that may blunt the antidepressant effect. They are shown
  on the consultation page and in the letter, but never block a route, never make it "relative"
  and never ask for precautions.
Age is never asked: the age rules (`asked=False`) are derived from the date of birth on the day
of the consultation (`age_conditions`). A clinic may reclassify any rule per route through
`with_overrides` (the screening-rules file, KETACARE_SCREENING_RULES).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from ketacare.clinical.body import age_years


class Route(StrEnum):
    IV_KETAMINE = "iv_ketamine"
    ESKETAMINE_NASAL = "esketamine_nasal"


ROUTE_LABELS = {Route.IV_KETAMINE: "IV ketamine", Route.ESKETAMINE_NASAL: "Esketamine nasal spray"}


class Kind(StrEnum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"
    NOTE = "note"  # an efficacy note: shown, never blocking, never a precaution by itself


# Findings are listed most serious first.
_KIND_ORDER = {Kind.ABSOLUTE: 0, Kind.RELATIVE: 1, Kind.NOTE: 2}
# A clinic's override may set these (or "none"); turning a contraindication into a mere note is
# not offered: a clinic that does not want a rule removes it from the route with "none".
_OVERRIDE_KINDS = (Kind.ABSOLUTE, Kind.RELATIVE)


SPRAVATO_4 = "Spravato (esketamine) prescribing information, section 4: contraindications"
SPRAVATO_5 = "Spravato (esketamine) prescribing information, section 5: warnings and precautions"
SPRAVATO_8 = "Spravato (esketamine) prescribing information, section 8: specific populations"
KETALAR_4 = "Ketalar (ketamine) prescribing information, section 4: contraindications"
KETALAR_5 = "Ketalar (ketamine) prescribing information, section 5: warnings and precautions"
SERVICE = "Exclusions used by ketamine services (Oxford Health NHS; Sanacora et al., JAMA Psychiatry 2017)"
SANACORA = "Sanacora et al., APA consensus on ketamine in mood disorders, JAMA Psychiatry 2017"
REFERENCE_5 = "KetaCare clinical reference section 5 (contraindications and interactions: class per route)"
BNF = "BNF, ketamine monograph: cautions"

_BP_RISE = "Ketamine and esketamine raise blood pressure, most near 40 minutes (mean +16/+11 mmHg)"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    question: str  # as asked at the consultation: "Has the patient ...?"
    reason: str  # why it matters, in words for the page and the letter
    kinds: Mapping[Route, Kind]  # a route not named here is not affected
    sources: Mapping[Route, str]
    # False: not a checklist question but derived from the record (age, from the date of birth).
    asked: bool = True


def _both(kind: Kind) -> dict[Route, Kind]:
    return {Route.IV_KETAMINE: kind, Route.ESKETAMINE_NASAL: kind}


_A, _R, _N = Kind.ABSOLUTE, Kind.RELATIVE, Kind.NOTE
_IV_A_ES_R = {Route.IV_KETAMINE: _A, Route.ESKETAMINE_NASAL: _R}


def _src(iv: str, es: str) -> dict[Route, str]:
    return {Route.IV_KETAMINE: iv, Route.ESKETAMINE_NASAL: es}


# Age limits (clinical reference section 5): esketamine is not approved under 18 (Spravato
# prescribing information, section 8.4); from 65 the risk of falls rises and the EU label starts
# esketamine at 28 mg.
ADULT_AGE_YEARS = 18
OLDER_ADULT_AGE_YEARS = 65

_BENZO_STUDIES = (
    "Frye et al., J Clin Psychopharmacol 2015;35:334-336; Andrashko et al., Front Psychiatry "
    "2020;11:844 (dose-related loss of effect)"
)
_LAMOTRIGINE_STUDY = "Anand et al., Arch Gen Psychiatry 2000;57:270-276 (may attenuate)"
_NALTREXONE_STUDIES = (
    "Williams et al., Am J Psychiatry 2018;175:1205-1215 (may attenuate); disputed by Yoon et al., "
    "JAMA Psychiatry 2019 and Marton et al., Biol Psychiatry 2019"
)


RULES: tuple[Rule, ...] = (
    Rule(
        "aneurysmal_vascular_disease",
        "Aneurysmal vascular disease (thoracic or abdominal aorta, intracranial or peripheral arteries)",
        f"{_BP_RISE}; a rise can rupture an aneurysm.",
        _both(_A),
        _src(KETALAR_4, SPRAVATO_4),
    ),
    Rule(
        "arteriovenous_malformation",
        "Arteriovenous malformation",
        f"{_BP_RISE}; a rise can make a malformation bleed.",
        _both(_A),
        _src(KETALAR_4, SPRAVATO_4),
    ),
    Rule(
        "intracerebral_haemorrhage",
        "History of intracerebral haemorrhage",
        f"{_BP_RISE}; a rise risks another bleed.",
        _both(_A),
        _src(KETALAR_4, SPRAVATO_4),
    ),
    Rule(
        "hypersensitivity",
        "Hypersensitivity to ketamine, esketamine or an excipient",
        "A previous allergic reaction to the drug or its excipients.",
        _both(_A),
        _src(KETALAR_4, SPRAVATO_4),
    ),
    Rule(
        "uncontrolled_hypertension",
        "Severe or uncontrolled hypertension",
        f"{_BP_RISE}; severe hypertension follows about 1% of infusions.",
        _IV_A_ES_R,
        _src(KETALAR_4 + "; " + SERVICE, SPRAVATO_5 + " (increase in blood pressure)"),
    ),
    Rule(
        "cardiovascular_disease",
        "Unstable cardiovascular disease (recent myocardial infarction, unstable angina, heart failure, "
        "significant valve disease)",
        f"{_BP_RISE} and heart rate; the heart's extra work is a hazard in unstable disease.",
        _both(_R),
        _src(KETALAR_5, SPRAVATO_5 + " (cardiovascular and cerebrovascular conditions)"),
    ),
    # Relative for both routes: clinical reference section 5 (contraindications to add).
    Rule(
        "hypertensive_encephalopathy",
        "History of hypertensive encephalopathy",
        f"{_BP_RISE}; even a small rise can bring encephalopathy back, so blood pressure is watched "
        "more closely.",
        _both(_R),
        _src(
            KETALAR_4
            + " (a significant rise in blood pressure would be a serious hazard); class per "
            + REFERENCE_5,
            SPRAVATO_5 + " (increase in blood pressure: closer monitoring after hypertensive encephalopathy)",
        ),
    ),
    Rule(
        "recent_stroke_or_tia",
        "Stroke or transient ischaemic attack (TIA) in the last 6 months",
        f"{_BP_RISE}; a rise soon after a stroke or TIA risks another.",
        _both(_R),
        _src(
            KETALAR_5 + " (rise in blood pressure); class per " + REFERENCE_5,
            SPRAVATO_5 + " (cardiovascular and cerebrovascular conditions); class per " + REFERENCE_5,
        ),
    ),
    Rule(
        "raised_intracranial_pressure",
        "Raised intracranial pressure",
        "Ketamine can raise intracranial pressure further.",
        _IV_A_ES_R,
        _src(SERVICE, SPRAVATO_5 + " (conditions where a rise in blood or intracranial pressure is a risk)"),
    ),
    Rule(
        "raised_intraocular_pressure",
        "Glaucoma or raised intraocular pressure",
        "Ketamine can raise intraocular pressure.",
        _IV_A_ES_R,
        _src(SERVICE, KETALAR_5 + " (raised intraocular pressure)"),
    ),
    Rule(
        "recent_seizures",
        "Epilepsy with a recent seizure",
        "Seizure threshold and monitoring under sedation; excluded by ketamine services.",
        _IV_A_ES_R,
        _src(SERVICE, SANACORA),
    ),
    Rule(
        "active_psychosis",
        "Current or recent psychosis",
        "Dissociation and perceptual changes can worsen psychosis; trials excluded it.",
        _both(_A),
        _src(SERVICE, SANACORA),
    ),
    Rule(
        "active_mania",
        "Current mania or hypomania",
        "Ketamine can worsen mania; trials excluded it.",
        _both(_A),
        _src(SERVICE, SANACORA),
    ),
    Rule(
        "mania_without_mood_stabiliser",
        "History of mania not covered by a mood stabiliser",
        "Risk of switching into mania.",
        _IV_A_ES_R,
        _src(SERVICE, SANACORA),
    ),
    Rule(
        "pregnancy",
        "Pregnancy, or planning pregnancy during treatment",
        "Possible harm to the fetus; not recommended in pregnancy.",
        _IV_A_ES_R,
        _src(SERVICE, SPRAVATO_8 + " (pregnancy: not recommended)"),
    ),
    Rule(
        "breastfeeding",
        "Breastfeeding",
        "The drug passes into breast milk; not recommended while breastfeeding.",
        _IV_A_ES_R,
        _src(SERVICE, SPRAVATO_8 + " (lactation: not recommended)"),
    ),
    Rule(
        "substance_use_disorder",
        "Current substance use disorder",
        "Ketamine is a Schedule III drug with potential for misuse.",
        _IV_A_ES_R,
        _src(SERVICE, SPRAVATO_5 + " (abuse and misuse)"),
    ),
    Rule(
        "prior_ketamine_misuse",
        "Misuse of ketamine in the past",
        "Ketamine is a Schedule III drug with potential for misuse.",
        _IV_A_ES_R,
        _src(SERVICE, SPRAVATO_5 + " (abuse and misuse)"),
    ),
    Rule(
        "cannot_abstain_from_alcohol",
        "Cannot abstain from alcohol for 24 hours around each treatment",
        "Alcohol adds to sedation and respiratory depression.",
        _IV_A_ES_R,
        _src(SERVICE, SPRAVATO_5 + " (sedation; CNS depressants)"),
    ),
    Rule(
        "severe_liver_disease",
        "Severe liver disease",
        "Ketamine is cleared by the liver; recurrent use has been linked to liver injury.",
        _both(_R),
        _src(KETALAR_5 + " (hepatobiliary dysfunction)", SPRAVATO_8 + " (severe hepatic impairment)"),
    ),
    # Relative for both routes: clinical reference section 5 (contraindications to add).
    Rule(
        "ulcerative_or_interstitial_cystitis",
        "Ulcerative or interstitial cystitis",
        "Ketamine can cause ulcerative cystitis, and the esketamine label warns of it; treatment may "
        "make it worse.",
        _both(_R),
        _src(
            "Ketamine-associated ulcerative cystitis (Shahani et al., Urology 2007;69:810-812); class per "
            + REFERENCE_5,
            SPRAVATO_5 + " (ulcerative or interstitial cystitis)",
        ),
    ),
    Rule(
        "respiratory_disease_or_sleep_apnoea",
        "Significant respiratory disease or obstructive sleep apnoea",
        "Sedation can slow breathing and obstruct the airway, and there is less reserve when breathing "
        "is already impaired.",
        _both(_R),
        _src(
            KETALAR_5 + " (respiratory depression); class per " + REFERENCE_5,
            SPRAVATO_5 + " (respiratory depression); class per " + REFERENCE_5,
        ),
    ),
    Rule(
        "thyrotoxicosis",
        "Thyrotoxicosis (an overactive thyroid)",
        "Ketamine's sympathetic stimulation adds to the fast heart rate and raised blood pressure of "
        "thyrotoxicosis.",
        _both(_R),
        _src(BNF + "; class per " + REFERENCE_5, BNF + "; class per " + REFERENCE_5),
    ),
    Rule(
        "acute_porphyria",
        "Acute porphyria",
        "Ketamine may provoke an acute porphyric attack.",
        _both(_R),
        _src(BNF + "; class per " + REFERENCE_5, BNF + "; class per " + REFERENCE_5),
    ),
    Rule(
        "high_dose_benzodiazepines",
        "Benzodiazepines above 2 mg lorazepam-equivalent a day",
        "Adds to sedation and may blunt the antidepressant effect.",
        _both(_R),
        _src(SERVICE, SPRAVATO_5 + " (CNS depressants)"),
    ),
    Rule(
        "maoi",
        "Taking a monoamine oxidase inhibitor",
        "MAOIs can add to the rise in blood pressure.",
        _both(_R),
        _src(SERVICE, SPRAVATO_5 + " (MAOIs)"),
    ),
    Rule(
        "psychostimulants",
        "Taking psychostimulants",
        "Stimulants can add to the rise in blood pressure.",
        _both(_R),
        _src(KETALAR_5, SPRAVATO_5 + " (psychostimulants)"),
    ),
    # Relative for both routes: clinical reference section 5. Benzodiazepines are not counted here:
    # above 2 mg lorazepam-equivalent they are `high_dose_benzodiazepines`, at any dose a note.
    Rule(
        "opioids_or_cns_depressants",
        "Taking an opioid or another CNS depressant (for example a gabapentinoid, zolpidem, zopiclone or a "
        "sedating antipsychotic; benzodiazepines are asked separately)",
        "Adds to sedation and respiratory depression.",
        _both(_R),
        _src(
            KETALAR_5 + " (respiratory depression); class per " + REFERENCE_5,
            SPRAVATO_5 + " (sedation and respiratory depression with CNS depressants, opioids included)",
        ),
    ),
    # Efficacy notes: clinical reference section 5. Shown, never blocking. The studies gave racemic
    # ketamine; the reference applies them to esketamine too.
    Rule(
        "any_benzodiazepine",
        "Taking a benzodiazepine, at any dose",
        "Benzodiazepines may blunt the antidepressant effect, more so at higher doses.",
        _both(_N),
        _src(_BENZO_STUDIES, _BENZO_STUDIES),
    ),
    Rule(
        "lamotrigine",
        "Taking lamotrigine",
        "Lamotrigine may attenuate ketamine's effects.",
        _both(_N),
        _src(_LAMOTRIGINE_STUDY, _LAMOTRIGINE_STUDY),
    ),
    Rule(
        "naltrexone",
        "Taking naltrexone",
        "Naltrexone may attenuate the antidepressant effect (one small trial; later reports found no loss).",
        _both(_N),
        _src(_NALTREXONE_STUDIES, _NALTREXONE_STUDIES),
    ),
    Rule(
        "suicidal_intent_needing_higher_care",
        "Active suicidal intent that needs a higher level of care",
        "The patient needs crisis or inpatient care now; outpatient ketamine does not replace it.",
        _both(_A),
        _src(SERVICE, "Spravato (esketamine) prescribing information, section 1 (limitations of use)"),
    ),
    # Derived from the date of birth on the day of the consultation, never asked (`age_conditions`).
    # Clinical reference section 5: under 18 absolute for both routes (a clinic that treats
    # adolescents with IV ketamine lifts it with an override); 65 or over relative for both.
    Rule(
        "age_under_18",
        f"Under {ADULT_AGE_YEARS} years old on the day of the consultation",
        "Esketamine is not approved under 18, and ketamine for depression is not established as safe "
        "and effective in children and adolescents.",
        _both(_A),
        _src(
            REFERENCE_5 + " (off-label under 18; a clinic may enable IV ketamine for adolescents)",
            SPRAVATO_8 + " (pediatric use: not established; not approved under 18)",
        ),
        asked=False,
    ),
    Rule(
        "age_65_or_over",
        f"Aged {OLDER_ADULT_AGE_YEARS} or over on the day of the consultation",
        "Dizziness, sedation and dissociation make a fall more likely; the EU esketamine label starts at "
        "28 mg from 65.",
        _both(_R),
        _src(
            REFERENCE_5 + " (falls after sedation and dissociation)",
            SPRAVATO_8 + " (geriatric use); EU summary of product characteristics (28 mg start from 65)",
        ),
        asked=False,
    ),
)

RULES_BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    kind: Kind
    route: Route
    question: str
    reason: str
    source: str

    def as_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "kind": self.kind.value,
            "route": self.route.value,
            "reason": f"{self.question}: {self.reason}",
            "source": self.source,
        }


class UnknownCondition(ValueError):
    pass


def checklist(rules: Sequence[Rule] = RULES) -> tuple[Rule, ...]:
    """The rules asked as checklist questions, in order (the age rules come from the record)."""
    return tuple(r for r in rules if r.asked)


def age_conditions(*, born: date, on: date) -> list[str]:
    """The age rules that apply on a day, from the date of birth. A birth date after the day is a
    data error, read as under 18 so that it cannot pass unseen."""
    if on < born:
        return ["age_under_18"]
    years = age_years(born=born, on=on)
    if years < ADULT_AGE_YEARS:
        return ["age_under_18"]
    if years >= OLDER_ADULT_AGE_YEARS:
        return ["age_65_or_over"]
    return []


def screen(present: Iterable[str], *, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """One finding per condition present and route it affects: absolute, then relative, then
    efficacy notes, each in the order of the checklist."""
    by_code = {r.code: r for r in rules}
    codes = list(dict.fromkeys(present))
    for code in codes:
        if code not in by_code:
            raise UnknownCondition(f"{code!r} is not a condition on the clinic's checklist")
    order = {r.code: i for i, r in enumerate(rules)}
    findings = [
        Finding(code, kind, route, by_code[code].question, by_code[code].reason, by_code[code].sources[route])
        for code in codes
        for route, kind in by_code[code].kinds.items()
    ]
    findings.sort(key=lambda f: (_KIND_ORDER[f.kind], order[f.code], list(Route).index(f.route)))
    return findings


class RouteStatus(StrEnum):
    CONTRAINDICATED = "contraindicated"
    PRECAUTIONS = "precautions"
    CLEAR = "clear"


def route_status(findings: Sequence[Finding], route: Route) -> RouteStatus:
    """Contraindicated on any absolute finding, precautions on any relative one; efficacy notes
    never change the status."""
    kinds = {f.kind for f in findings if f.route == route}
    if Kind.ABSOLUTE in kinds:
        return RouteStatus.CONTRAINDICATED
    if Kind.RELATIVE in kinds:
        return RouteStatus.PRECAUTIONS
    return RouteStatus.CLEAR


def with_overrides(overrides: Mapping[str, Any], rules: Sequence[Rule] = RULES) -> tuple[Rule, ...]:
    """The rules with a clinic's classification: {"pregnancy": {"esketamine_nasal": "absolute"}};
    "none" removes a route from a rule (a clinic that treats adolescents with IV ketamine sets
    {"age_under_18": {"iv_ketamine": "none"}}). Raises ValueError naming the rule and route."""
    by_code = {r.code: r for r in rules}
    for code, routes in overrides.items():
        if code not in by_code:
            raise ValueError(f"{code}: not a condition on the checklist")
        if not isinstance(routes, Mapping):
            raise ValueError(f"{code}: give an object of route to absolute, relative or none")
        kinds = dict(by_code[code].kinds)
        sources = dict(by_code[code].sources)
        for route_name, kind_name in routes.items():
            try:
                route = Route(route_name)
            except ValueError:
                raise ValueError(f"{code}: {route_name!r} is not a route ({', '.join(Route)})") from None
            if kind_name == "none":
                kinds.pop(route, None)
                continue
            if kind_name not in _OVERRIDE_KINDS:
                raise ValueError(f"{code}.{route_name}: {kind_name!r} is not absolute, relative or none")
            kinds[route] = Kind(kind_name)
            sources[route] = "clinic setting"
        by_code[code] = replace(by_code[code], kinds=kinds, sources=sources)
    return tuple(by_code[r.code] for r in rules)

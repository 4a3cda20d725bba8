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
A clinic may reclassify any rule per route through `with_overrides`
(settings.CONTRAINDICATION_OVERRIDES).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class Route(StrEnum):
    IV_KETAMINE = "iv_ketamine"
    ESKETAMINE_NASAL = "esketamine_nasal"


ROUTE_LABELS = {Route.IV_KETAMINE: "IV ketamine", Route.ESKETAMINE_NASAL: "Esketamine nasal spray"}


class Kind(StrEnum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"


SPRAVATO_4 = "Spravato (esketamine) prescribing information, section 4: contraindications"
SPRAVATO_5 = "Spravato (esketamine) prescribing information, section 5: warnings and precautions"
SPRAVATO_8 = "Spravato (esketamine) prescribing information, section 8: specific populations"
KETALAR_4 = "Ketalar (ketamine) prescribing information, section 4: contraindications"
KETALAR_5 = "Ketalar (ketamine) prescribing information, section 5: warnings and precautions"
SERVICE = "Exclusions used by ketamine services (Oxford Health NHS; Sanacora et al., JAMA Psychiatry 2017)"
SANACORA = "Sanacora et al., APA consensus on ketamine in mood disorders, JAMA Psychiatry 2017"

_BP_RISE = "Ketamine and esketamine raise blood pressure, most near 40 minutes (mean +16/+11 mmHg)"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    question: str  # as asked at the consultation: "Has the patient ...?"
    reason: str  # why it matters, in words for the page and the letter
    kinds: Mapping[Route, Kind]  # a route not named here is not affected
    sources: Mapping[Route, str]


def _both(kind: Kind) -> dict[Route, Kind]:
    return {Route.IV_KETAMINE: kind, Route.ESKETAMINE_NASAL: kind}


_A, _R = Kind.ABSOLUTE, Kind.RELATIVE
_IV_A_ES_R = {Route.IV_KETAMINE: _A, Route.ESKETAMINE_NASAL: _R}


def _src(iv: str, es: str) -> dict[Route, str]:
    return {Route.IV_KETAMINE: iv, Route.ESKETAMINE_NASAL: es}


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
    Rule(
        "suicidal_intent_needing_higher_care",
        "Active suicidal intent that needs a higher level of care",
        "The patient needs crisis or inpatient care now; outpatient ketamine does not replace it.",
        _both(_A),
        _src(SERVICE, "Spravato (esketamine) prescribing information, section 1 (limitations of use)"),
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

    @property
    def sentence(self) -> str:
        kind = "Absolute contraindication" if self.kind == Kind.ABSOLUTE else "Precaution (relative)"
        return f"{kind} to {ROUTE_LABELS[self.route].lower()}: {self.question.lower()}. {self.reason}"


class UnknownCondition(ValueError):
    pass


def screen(present: Iterable[str], *, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """One finding per condition present and route it affects: absolute before relative, then in
    the order of the checklist."""
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
    findings.sort(key=lambda f: (f.kind != Kind.ABSOLUTE, order[f.code], list(Route).index(f.route)))
    return findings


class RouteStatus(StrEnum):
    CONTRAINDICATED = "contraindicated"
    PRECAUTIONS = "precautions"
    CLEAR = "clear"


def route_status(findings: Sequence[Finding], route: Route) -> RouteStatus:
    kinds = {f.kind for f in findings if f.route == route}
    if Kind.ABSOLUTE in kinds:
        return RouteStatus.CONTRAINDICATED
    if Kind.RELATIVE in kinds:
        return RouteStatus.PRECAUTIONS
    return RouteStatus.CLEAR


def with_overrides(overrides: Mapping[str, Any], rules: Sequence[Rule] = RULES) -> tuple[Rule, ...]:
    """The rules with a clinic's classification: {"pregnancy": {"esketamine_nasal": "absolute"}};
    "none" removes a route from a rule. Raises ValueError naming the rule and route."""
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
            try:
                kinds[route] = Kind(kind_name)
            except ValueError:
                raise ValueError(
                    f"{code}.{route_name}: {kind_name!r} is not absolute, relative or none"
                ) from None
            sources[route] = "clinic setting"
        by_code[code] = replace(by_code[code], kinds=kinds, sources=sources)
    return tuple(by_code[r.code] for r in rules)

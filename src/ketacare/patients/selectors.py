"""Patient reads: each a fixed number of queries, whatever the size of the registry."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Aggregate, OuterRef, Prefetch, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Concat

from ketacare.clinical.mrn import normalise_mrn
from ketacare.patients.models import BodyMeasurement, Diagnosis, NamePart, Patient, PatientIdentifier, bmi_of
from ketacare.patients.names import name_key, prefix_upper_bound

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_MRN_LIKE = re.compile(r"^KC\d+$")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What a search box entry means: an MRN, a date of birth, or a name."""

    kind: str  # "all", "mrn", "dob", "name", "invalid"
    mrn: str = ""
    dob: datetime.date | None = None
    names: tuple[str, ...] = ()
    comma: bool = False
    problem: str = ""


def parse_search(text: str) -> SearchQuery:
    text = text.strip()
    if not text:
        return SearchQuery("all")
    compact = normalise_mrn(text)
    if _MRN_LIKE.match(compact):
        return SearchQuery("mrn", mrn=compact)
    if _ISO_DATE.match(text) or _US_DATE.match(text):
        try:
            if match := _US_DATE.match(text):
                month, day, year = (int(g) for g in match.groups())
                dob = datetime.date(year, month, day)
            else:
                dob = datetime.date.fromisoformat(text)
        except ValueError:
            return SearchQuery(
                "invalid", problem=f"{text} is not a real date (use YYYY-MM-DD or MM/DD/YYYY)."
            )
        return SearchQuery("dob", dob=dob)
    comma = "," in text
    parts = [name_key(p) for p in re.split(r"[,\s]+", text)]
    names = tuple(p for p in parts if p)
    if not names:
        return SearchQuery("invalid", problem="Type a name, an MRN or a date of birth.")
    return SearchQuery("name", names=names, comma=comma)


def _prefix(field: str, prefix: str) -> Q:
    # A range on an indexed key column: an index range scan on SQLite and PostgreSQL alike.
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix_upper_bound(prefix)})


# The most patients a later name part's prefix is matched to by id list; past it, a subquery.
PART_MATCHES_LISTED = 2000


def _family(prefix: str) -> Q:
    """The family name begins with `prefix`, or any later part of it does ("testa" finds
    O'Neill-Testa). The parts are read first (an indexed range scan) and their patients given as
    ids: PostgreSQL then combines three index scans, where a subquery inside the OR made it read
    the whole patient table."""
    later = NamePart.objects.filter(_prefix("key", prefix)).values_list("patient_id", flat=True)
    ids = list(later[: PART_MATCHES_LISTED + 1])
    matched = Q(pk__in=ids) if len(ids) <= PART_MATCHES_LISTED else Q(pk__in=later)
    return _prefix("family_name_key", prefix) | matched


def _name_filter(names: tuple[str, ...], comma: bool) -> Q:
    if len(names) == 1:
        return _family(names[0]) | _prefix("given_name_key", names[0])
    first, rest = names[0], "".join(names[1:])
    if comma:  # "Family, Given"
        return _family(first) & _prefix("given_name_key", rest)
    return (_prefix("given_name_key", first) & _family(rest)) | (
        _family(first) & _prefix("given_name_key", rest)
    )


def patient_search(*, text: str) -> tuple[SearchQuery, QuerySet[Patient]]:
    """Patients matching a search box entry, in name order, with their primary diagnosis."""
    query = parse_search(text)
    qs = Patient.objects.only(
        "id",
        "mrn",
        "given_name",
        "family_name",
        "preferred_name",
        "date_of_birth",
        "sex",
        "family_name_key",
        "given_name_key",
    ).prefetch_related(
        Prefetch("diagnoses", queryset=Diagnosis.objects.filter(is_primary=True), to_attr="primary_diagnoses")
    )
    if query.kind == "mrn":
        qs = qs.filter(mrn=query.mrn)
    elif query.kind == "dob" and query.dob is not None:
        qs = qs.filter(date_of_birth=query.dob)
    elif query.kind == "name":
        qs = qs.filter(_name_filter(query.names, query.comma))
    elif query.kind == "invalid":
        qs = qs.none()
    return query, qs.order_by("family_name_key", "given_name_key", "id")


@dataclass(frozen=True, slots=True)
class ResultPage:
    """One page of patients. `total` is exact for a search; for the whole registry it is None,
    since counting every row costs more than the page itself at 100,000 patients."""

    patients: list[Patient]
    number: int
    has_next: bool
    total: int | None
    per_page: int = 25

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def num_pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.patients else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.patients)


MAX_PAGE = 1_000_000  # far past any registry; keeps the row offset a number the database takes


def _page_number(page: int | str | None) -> int:
    try:
        return min(max(1, int(page or 1)), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def patient_search_page(
    *, text: str, page: int | str | None, per_page: int
) -> tuple[SearchQuery, ResultPage]:
    """A page of results in at most four queries: a name's later parts and a count (searches
    only), the rows plus one (to know whether a next page exists), and their primary diagnoses."""
    query, qs = patient_search(text=text)
    number = _page_number(page)
    total = None if query.kind == "all" else qs.count()
    if total is not None:
        number = min(number, max(1, -(-total // per_page)))
    start = (number - 1) * per_page
    rows = list(qs[start : start + per_page + 1])
    if not rows and number > 1 and total is None:
        number = 1
        rows = list(qs[: per_page + 1])
    return query, ResultPage(
        patients=rows[:per_page], number=number, has_next=len(rows) > per_page, total=total, per_page=per_page
    )


@dataclass(frozen=True, slots=True, order=True)
class OtherId:
    """One of the patient's ids in another system, as the chart shows it."""

    system: str  # the system's label
    value: str


@dataclass(frozen=True, slots=True)
class Chart:
    patient: Patient
    diagnoses: list[Diagnosis]
    measurements: list[BodyMeasurement]
    weight_kg: Decimal | None
    height_cm: Decimal | None
    other_ids: list[OtherId]

    @property
    def bmi(self) -> Decimal | None:
        return bmi_of(self.weight_kg, self.height_cm)


MEASUREMENTS_SHOWN = 10


class _Joined(Aggregate):
    """A group's texts joined by `separator` (SQLite's group_concat, PostgreSQL's string_agg)."""

    function = "string_agg"
    output_field = TextField()

    def __init__(self, expression: Any, separator: str) -> None:
        super().__init__(expression, Value(separator))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="group_concat", **extra)


# Control characters, which neither a system's label nor an id holds (their validators).
ID_PART, ID_END = "\x1f", "\x1e"
# The patient's ids in other systems as one text, read with the patient: the chart costs no
# query more for them.
OTHER_IDS = Subquery(
    PatientIdentifier.objects.filter(patient=OuterRef("pk"))
    .order_by()
    .values("patient")
    .annotate(text=_Joined(Concat("system__label", Value(ID_PART), "value"), ID_END))
    .values("text")
)


def _other_ids(text: str | None) -> list[OtherId]:
    return sorted(OtherId(*item.split(ID_PART, 1)) for item in (text or "").split(ID_END) if item)


def patient_chart(*, patient_id: int) -> Chart:
    """Everything the chart page shows, in five queries at any length of history."""
    patient = (
        Patient.objects.select_related("referring_provider")
        .prefetch_related("diagnoses", "allergies")
        .annotate(other_ids=OTHER_IDS)
        .get(pk=patient_id)
    )
    measurements = list(
        BodyMeasurement.objects.filter(patient=patient).order_by("-measured_at", "-id")[:MEASUREMENTS_SHOWN]
    )
    weight = next((m.weight_kg for m in measurements if m.weight_kg is not None), None)
    height = next((m.height_cm for m in measurements if m.height_cm is not None), None)
    if height is None and measurements:
        # Height is measured rarely; look further back than the recent list if needed.
        height = (
            BodyMeasurement.objects.filter(patient=patient, height_cm__isnull=False)
            .order_by("-measured_at", "-id")
            .values_list("height_cm", flat=True)
            .first()
        )
    return Chart(
        patient=patient,
        diagnoses=list(patient.diagnoses.all()),
        measurements=measurements,
        weight_kg=weight,
        height_cm=height,
        other_ids=_other_ids(patient.other_ids),
    )

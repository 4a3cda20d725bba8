"""Patient reads: each a fixed number of queries, whatever the size of the registry."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import (
    Aggregate,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Concat
from django.utils import timezone

from ketacare.clinical.mrn import normalise_mrn
from ketacare.patients import consent
from ketacare.patients.models import (
    BodyMeasurement,
    ConsentDocument,
    ConsentSignature,
    Diagnosis,
    NamePart,
    Patient,
    PatientIdentifier,
    bmi_of,
)
from ketacare.patients.names import name_key, prefix_upper_bound
from ketacare.ui.markdown import render

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


# -- Consent to treatment ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentShown:
    """The current version of one kind of consent: the newest the clinic published, or, while it
    has published none, KetaCare's default text as version 1 (`document` None: stored when first
    signed or replaced when the clinic publishes its own)."""

    kind: consent.Kind
    version: int
    title: str
    body: str
    document: ConsentDocument | None

    @property
    def html(self) -> str:
        return render(self.body)

    @property
    def digest(self) -> str:
        return self.document.digest if self.document else consent.digest(self.title, self.body)


def _default(kind: consent.Kind) -> ConsentShown:
    return ConsentShown(kind, 1, kind.title, kind.default_body(), None)


def _shown(document: ConsentDocument) -> ConsentShown:
    return ConsentShown(
        consent.BY_CODE[document.kind], document.version, document.title, document.body, document
    )


def consent_current_documents() -> dict[str, ConsentShown]:
    """The current version of every kind of consent, by kind, in the order of `consent.KINDS`.
    One query, however many versions were published."""
    newer = ConsentDocument.objects.filter(kind=OuterRef("kind"), version__gt=OuterRef("version"))
    stored = {
        d.kind: d for d in ConsentDocument.objects.filter(~Exists(newer)).select_related("published_by")
    }
    return {k.code: _shown(stored[k.code]) if k.code in stored else _default(k) for k in consent.KINDS}


def consent_current(kind: str) -> ConsentShown:
    """The current version of one kind of consent (a KeyError for a kind that is none). One query."""
    known = consent.BY_CODE[kind]
    document = (
        ConsentDocument.objects.filter(kind=kind).select_related("published_by").order_by("-version").first()
    )
    return _shown(document) if document is not None else _default(known)


def consent_versions(kind: str) -> list[ConsentDocument]:
    """Every published version of one kind, newest first, each with the number of signatures
    made of it (`signed`). One query."""
    return list(
        ConsentDocument.objects.filter(kind=kind)
        .select_related("published_by")
        .annotate(signed=Count("signatures"))
        .order_by("-version")
    )


def consent_signatures(*, patient_id: int) -> list[ConsentSignature]:
    """Every consent the patient signed, newest first, with the version, the witness and who
    recorded a withdrawal. One query."""
    return list(
        ConsentSignature.objects.filter(patient_id=patient_id)
        .select_related("document", "witness", "withdrawn_by")
        .order_by("-signed_at", "-id")
    )


class Decisions(Protocol):
    """The routes a patient's current signed candidacy decision makes them eligible for, each with
    when it was signed (screening.selectors.eligible_since, passed down from the top: this app
    sits below screening)."""

    def __call__(self, *, patient_id: int) -> Mapping[str, datetime.datetime]: ...


@dataclass(frozen=True, slots=True)
class ConsentState:
    """One kind of consent for one patient: the current version, every signature of the kind they
    made (newest first), and when the patient's current signed candidacy decision making them
    eligible for this route was signed (`decided_at`; None: no such decision). A signature counts
    only if made since that decision: consent is asked after the consultation that found the
    treatment suitable, and a new assessment asks for it again."""

    current: ConsentShown
    signatures: list[ConsentSignature]
    decided_at: datetime.datetime | None = None

    @property
    def kind(self) -> consent.Kind:
        return self.current.kind

    @property
    def covered(self) -> bool:
        """Whether the patient may sign it now: their current decision covers this route."""
        return self.decided_at is not None

    def in_force(self, signature: ConsentSignature) -> bool:
        """Not withdrawn, and made since the decision that covers the route."""
        return (
            not signature.withdrawn and self.decided_at is not None and signature.signed_at >= self.decided_at
        )

    @property
    def signed(self) -> ConsentSignature | None:
        """The signature of the current version in force: the one a course starts under."""
        return next(
            (
                s
                for s in self.signatures
                if self.in_force(s)
                and self.current.document is not None
                and s.document_id == self.current.document.pk
            ),
            None,
        )

    @property
    def standing(self) -> ConsentSignature | None:
        """The newest signature not withdrawn, of any version: the one a withdrawal is offered on
        (a withdrawal marks every signature of the route still standing)."""
        return next((s for s in self.signatures if not s.withdrawn), None)

    @property
    def withdrawn(self) -> ConsentSignature | None:
        """The latest withdrawal, when the patient signed this kind and withdrew every signature
        of it (a later signature would stand again)."""
        if self.signatures and all(s.withdrawn for s in self.signatures):
            return max(self.signatures, key=lambda s: (s.withdrawn_at, s.pk))
        return None

    @property
    def earlier(self) -> ConsentSignature | None:
        """A signature of an earlier version in force, when the current one is unsigned: the
        course under way goes on; the patient must sign the new version before a new course."""
        if self.signed is not None:
            return None
        return next((s for s in self.signatures if self.in_force(s)), None)

    @property
    def before_decision(self) -> ConsentSignature | None:
        """A signature still standing but made before the current decision (or with no decision
        covering the route now): it counts for nothing; the patient signs again."""
        if self.signed is not None or self.earlier is not None:
            return None
        return self.standing

    @property
    def status(self) -> str:
        if self.signed is not None:
            return "signed"
        if self.withdrawn is not None:
            return "withdrawn"
        if self.earlier is not None:
            return "earlier version"
        if self.before_decision is not None:
            return "signed before the assessment"
        return "not signed"


def consent_states(*, patient_id: int, decided: Mapping[str, datetime.datetime]) -> list[ConsentState]:
    """Each kind of consent for the patient, in the order of `consent.KINDS`. `decided`: the
    routes the patient's current signed eligible decision covers, and when it was signed
    (screening.selectors.eligible_since). Two queries."""
    current = consent_current_documents()
    signatures = consent_signatures(patient_id=patient_id)
    return [
        ConsentState(
            current[k.code], [s for s in signatures if s.document.kind == k.code], decided.get(k.code)
        )
        for k in consent.KINDS
    ]


def is_current(signature: ConsentSignature, states: list[ConsentState]) -> bool:
    """Whether a signature is the one a course by its route would start under now."""
    return any(state.signed is not None and state.signed.pk == signature.pk for state in states)


@dataclass(frozen=True, slots=True)
class ConsentCheck:
    """Whether a course by one route may start: the signature it starts under, or why not."""

    signature: ConsentSignature | None
    problem: str = ""


def consent_for_treatment(
    *, patient_id: int, kind: str, decided_at: datetime.datetime | None
) -> ConsentCheck:
    """The patient's signature of the current version of this kind of consent, not withdrawn, and
    made since `decided_at`, when the patient's current signed decision making them eligible for
    the route was signed (None: there is none, and nothing counts). One query; else, in words,
    what is missing: no signature, only an earlier version's, one made before the assessment, or
    a withdrawal (two queries more, only then)."""
    newer = ConsentDocument.objects.filter(
        kind=OuterRef("document__kind"), version__gt=OuterRef("document__version")
    )
    signature = None
    if decided_at is not None:
        signature = (
            ConsentSignature.objects.filter(
                patient_id=patient_id,
                document__kind=kind,
                withdrawn_at__isnull=True,
                signed_at__gte=decided_at,
            )
            .filter(~Exists(newer))
            .select_related("document")
            .first()
        )
    if signature is not None:
        return ConsentCheck(signature)
    state = ConsentState(
        consent_current(kind),
        list(
            ConsentSignature.objects.filter(patient_id=patient_id, document__kind=kind)
            .select_related("document")
            .order_by("-signed_at", "-id")
        ),
        decided_at,
    )
    return ConsentCheck(None, _missing(state))


def _missing(state: ConsentState) -> str:
    """What is missing for a course by this route to start, in words."""
    label, version = state.kind.label, state.current.version
    how = "they sign it in the portal, or a nurse or physician records their signature on paper."
    if state.decided_at is None:
        return (
            f"No signed candidacy decision makes the patient eligible for {label}: they are asked "
            "for their consent after the consultation."
        )
    if state.withdrawn is not None and state.withdrawn.withdrawn_at is not None:
        on = timezone.localtime(state.withdrawn.withdrawn_at)
        return (
            f"The patient withdrew their consent to {label} on {on:%Y-%m-%d}: a course starts only "
            f"after they sign the current consent (version {version}) again."
        )
    if state.earlier is not None:
        return (
            f"The patient has not signed the current consent for {label}, version {version} "
            f"(they signed version {state.earlier.document.version}, since replaced): {how}"
        )
    if state.before_decision is not None:
        on = timezone.localtime(state.decided_at)
        return (
            f"The patient signed their consent to {label} before their latest assessment (the "
            f"decision signed on {on:%Y-%m-%d}): they sign the current consent (version {version}) "
            f"again; {how}"
        )
    return f"The patient has not signed the current consent for {label}, version {version}: {how}"


def consent_in_force(
    *, patient_id: int, kind: str, decided_at: datetime.datetime | None
) -> ConsentSignature | None:
    """The patient's newest signature of any version of this kind of consent, not withdrawn and
    made since `decided_at` (their current eligible decision covering the route; None: nothing
    counts): what lets a treatment day go on. A new version published mid-course does not stop
    the course the patient consented to. One query."""
    if decided_at is None:
        return None
    return (
        ConsentSignature.objects.filter(
            patient_id=patient_id,
            document__kind=kind,
            withdrawn_at__isnull=True,
            signed_at__gte=decided_at,
        )
        .select_related("document")
        .order_by("-signed_at", "-id")
        .first()
    )


def consent_withdrawals(*, patient_ids: Iterable[int]) -> dict[tuple[int, str], ConsentSignature]:
    """For these patients, their latest withdrawal of each kind of consent they have not signed
    again since, by (patient id, kind): what the Today board and the session page show beside a
    patient in the chair. One query, whatever the number of patients."""
    standing = ConsentSignature.objects.filter(
        patient_id=OuterRef("patient_id"),
        document__kind=OuterRef("document__kind"),
        withdrawn_at__isnull=True,
    )
    rows = (
        ConsentSignature.objects.filter(patient_id__in=list(patient_ids), withdrawn_at__isnull=False)
        .filter(~Exists(standing))
        .select_related("document")
        .order_by("withdrawn_at", "id")
    )
    return {(s.patient_id, s.document.kind): s for s in rows}


CONSENT_WITHDRAWALS_SHOWN = 20


def consent_withdrawals_unseen(*, limit: int = CONSENT_WITHDRAWALS_SHOWN) -> list[ConsentSignature]:
    """The withdrawals patients made in the portal that no nurse or physician has said they saw,
    newest first, one per patient and route (a withdrawal marks every signature of the route
    still standing), with the patient: the staff home page lists them loudly. One query."""
    unseen = ConsentSignature.objects.filter(
        withdrawn_how=ConsentSignature.WithdrawnHow.PORTAL, withdrawal_seen_at__isnull=True
    )
    # One row per withdrawal: the newest signature it marked.
    newer = unseen.filter(
        patient_id=OuterRef("patient_id"),
        document__kind=OuterRef("document__kind"),
        withdrawn_at=OuterRef("withdrawn_at"),
        id__gt=OuterRef("id"),
    )
    return list(
        unseen.filter(~Exists(newer))
        .select_related("document", "patient")
        .only(
            "id",
            "patient_id",
            "document_id",
            "signed_at",
            "withdrawn_at",
            "withdrawn_how",
            "withdrawal_seen_at",
            "document__kind",
            "document__version",
            "patient__id",
            "patient__mrn",
            "patient__given_name",
            "patient__family_name",
            "patient__preferred_name",
        )
        .order_by("-withdrawn_at", "-id")[:limit]
    )


def consent_withdrawn(*, patient_id: int, kind: str) -> ConsentSignature | None:
    """The patient's latest withdrawal of this kind of consent when no signature of it still
    stands (they withdrew, and have not signed again); None otherwise. One query."""
    standing = ConsentSignature.objects.filter(
        patient_id=patient_id, document__kind=kind, withdrawn_at__isnull=True
    )
    return (
        ConsentSignature.objects.filter(
            patient_id=patient_id, document__kind=kind, withdrawn_at__isnull=False
        )
        .filter(~Exists(standing))
        .order_by("-withdrawn_at", "-id")
        .first()
    )

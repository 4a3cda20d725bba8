"""Reading the audit trail."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Q, QuerySet
from django.utils import timezone

from ketacare.audit import keys
from ketacare.audit.anchors import AnchorFileError, anchors_read
from ketacare.audit.chain import EVENT_FIELDS, GENESIS_HASH, canonical_row, legacy_link, link
from ketacare.audit.models import AuditChainHead, AuditEvent, AuditListedPatient


@dataclass(frozen=True, slots=True)
class ChainReport:
    events_checked: int
    broken_at_seq: int | None = None
    problem: str = ""
    anchors_checked: int = 0
    unkeyed_events: int = 0
    newest_anchor_at: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at_seq is None and not self.problem


def _listed_groups(chunk_size: int) -> Iterator[tuple[int, list[int]]]:
    """The index of patients shown in lists, one (seq, sorted patient ids) per event, in order."""
    rows = (
        AuditListedPatient.objects.order_by("seq", "patient_id")
        .values_list("seq", "patient_id")
        .iterator(chunk_size=chunk_size)
    )
    for seq, group in itertools.groupby(rows, key=lambda r: r[0]):
        yield seq, [pid for _, pid in group]


def chain_verify(
    *, chunk_size: int = 5000, anchor_file: Path | None = None, after_restore: bool = False
) -> ChainReport:
    """Recompute every link of the chain in order and report the first one that does not hold;
    then check the chain head, every anchor in the anchor file, and the index of patients shown
    in lists.

    Streams the events, so memory stays flat however long the trail is. `after_restore`: right
    after `ketacare restore`, anchors naming events after the backup's end are expected (those
    events were replaced by the restore); the ones the backup holds must still match.
    """
    try:
        anchors = anchors_read(anchor_file)
    except AnchorFileError as exc:
        return ChainReport(0, None, str(exc))
    wanted = {a.seq for a in anchors}
    seen: dict[int, str] = {}
    current_key = keys.key_id()
    prev_hash, expected_seq, checked, unkeyed, keyed_from = GENESIS_HASH, 1, 0, 0, None
    index = _listed_groups(chunk_size)
    pending = next(index, None)
    rows = (
        AuditEvent.objects.order_by("seq")
        .values_list(*EVENT_FIELDS, named=True)
        .iterator(chunk_size=chunk_size)
    )
    for row in rows:
        seq, detail = row.seq, row.detail

        def report(
            problem: str, at: int = seq, checked: int = checked, unkeyed: int = unkeyed
        ) -> ChainReport:
            return ChainReport(checked, at, problem, 0, unkeyed)

        if seq != expected_seq:
            return report(f"event {expected_seq} is missing (next stored is {seq})", expected_seq)
        if row.prev_hash != prev_hash:
            return report(f"event {seq} does not link to event {seq - 1}")
        content = canonical_row(row)
        if row.key_id == "":
            if keyed_from is not None:
                return report(f"event {seq} is unkeyed but follows keyed event {keyed_from}: rewritten")
            digest, unkeyed = legacy_link(prev_hash, content), unkeyed + 1
        elif row.key_id != current_key:
            return report(f"event {seq} was linked with another audit key (key id {row.key_id})")
        else:
            keyed_from = keyed_from or seq
            digest = link(prev_hash, content)
        if digest != row.hash:
            return report(f"event {seq} was altered after it was written")
        if seq in wanted:
            seen[seq] = row.hash
        shown = sorted(int(p) for p in detail.get("patients", ())) if isinstance(detail, dict) else []
        if pending is not None and pending[0] < seq:
            return report(
                f"the index of patients shown in lists names event {pending[0]} wrongly", pending[0]
            )
        if pending is not None and pending[0] == seq:
            if pending[1] != shown:
                return report(f"the index of patients shown in lists differs from event {seq}")
            pending = next(index, None)
        elif shown:
            return report(f"the index of patients shown in lists lacks event {seq}")
        prev_hash, expected_seq, checked = row.hash, seq + 1, checked + 1
    last = expected_seq - 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != last or head.hash != prev_hash):
        return ChainReport(
            checked,
            expected_seq,
            f"the chain head names event {head.seq} but the trail ends at event {last}",
            0,
            unkeyed,
        )
    last_unkeyed = unkeyed  # unkeyed events can only lead the chain: seq 1..unkeyed
    if last_unkeyed and not any(a.seq >= last_unkeyed for a in anchors):
        return ChainReport(
            checked,
            1,
            f"events 1 to {last_unkeyed} are unkeyed and no anchor vouches for them "
            "(an intruder can rewrite unkeyed events; the upgrade that keyed the chain anchors them)",
            0,
            unkeyed,
        )
    for anchor in anchors:
        if anchor.seq > last and after_restore:
            continue
        if anchor.seq > last:
            return ChainReport(
                checked,
                last + 1,
                f"the anchor of {anchor.at} (line {anchor.line}) names event {anchor.seq}, but the "
                f"trail ends at event {last}: events were removed from its end",
                0,
                unkeyed,
            )
        if anchor.seq and seen.get(anchor.seq) != anchor.hash:
            return ChainReport(
                checked,
                anchor.seq,
                f"event {anchor.seq} differs from the anchor of {anchor.at} (line {anchor.line})",
                0,
                unkeyed,
            )
    if pending is not None:
        return ChainReport(
            checked,
            pending[0],
            f"the index of patients shown in lists names event {pending[0]} wrongly",
            0,
            unkeyed,
        )
    newest = max((a.at for a in anchors), default="")
    return ChainReport(checked, anchors_checked=len(anchors), unkeyed_events=unkeyed, newest_anchor_at=newest)


@dataclass(frozen=True, slots=True)
class EventFilters:
    """What the audit page searches by: a patient (their records and the lists that showed them),
    a user, an action, and the days from `since` to `until` (both included, clinic time)."""

    patient_id: int | None = None
    actor_label: str = ""
    action: str = ""
    since: datetime.date | None = None
    until: datetime.date | None = None


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _filtered(filters: EventFilters) -> QuerySet[AuditEvent]:
    qs: QuerySet[AuditEvent] = AuditEvent.objects.all()
    if filters.patient_id is not None:
        listed = AuditListedPatient.objects.filter(patient_id=filters.patient_id).values("seq")
        qs = qs.filter(Q(patient_id=filters.patient_id) | Q(seq__in=listed))
    if filters.actor_label:
        qs = qs.filter(actor_label=filters.actor_label)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.since is not None:
        qs = qs.filter(occurred_at__gte=_day_start(filters.since))
    if filters.until is not None:
        qs = qs.filter(occurred_at__lt=_day_start(filters.until + datetime.timedelta(days=1)))
    return qs


def events_page(
    *, filters: EventFilters | None = None, before_seq: int | None = None, size: int = 50
) -> list[AuditEvent]:
    """The newest events first, `size` at a time (keyset pagination on seq: constant cost at any
    depth of a trail of millions)."""
    qs = _filtered(filters or EventFilters()).order_by("-seq")
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    return list(qs[:size])


def events_export(filters: EventFilters, *, chunk_size: int = 2000) -> Iterator[AuditEvent]:
    """Every event that matches, oldest first, streamed (the CSV export)."""
    return _filtered(filters).order_by("seq").iterator(chunk_size=chunk_size)


DISCLOSURES_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Disclosure:
    """A time the patient's record left KetaCare (an export), as the audit trail recorded it."""

    at: datetime.datetime
    by: str  # who made it: a user, or a command
    what: str  # what was disclosed (the event's "disclosure")
    to: str  # to whom or where, as recorded
    resources: int | None  # how many of the patient's records (resources) went, where counted


def disclosures(patient_id: int, limit: int = DISCLOSURES_SHOWN) -> list[Disclosure]:
    """The newest disclosures of this patient's record: events about the patient, or naming them
    among many (a clinic-wide export, found through the listed-patients index), whose detail says
    what was disclosed. Two queries."""
    listed = AuditListedPatient.objects.filter(patient_id=patient_id).values("seq")
    events = (
        AuditEvent.objects.filter(Q(patient_id=patient_id) | Q(seq__in=listed), detail__has_key="disclosure")
        .order_by("-seq")
        .only("occurred_at", "actor_label", "patient_id", "detail")[:limit]
    )
    out = []
    for e in events:
        # A count of this patient's records only (a clinic-wide export counts everyone's).
        counted = e.detail.get("resources") if e.patient_id == patient_id else None
        by = e.actor_label  # a user's name, or "system:COMMAND" for a command run on the server
        if by.startswith("system:"):
            by = f"ketacare {by.removeprefix('system:')} (a command on the server)"
        out.append(
            Disclosure(
                at=e.occurred_at,
                by=by,
                what=str(e.detail["disclosure"]),
                to=str(e.detail.get("to", "")),
                resources=counted if isinstance(counted, int) else None,
            )
        )
    return out

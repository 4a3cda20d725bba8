"""Writing the audit trail. Every service that reads or changes patient data calls one of these
inside its own transaction, so the record and its audit event commit together or not at all."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from ketacare.audit import keys
from ketacare.audit.chain import EVENT_FIELDS, GENESIS_HASH, canonical_row, link
from ketacare.audit.context import Actor
from ketacare.audit.models import AuditChainHead, AuditEvent, AuditListedPatient
from ketacare.bulk import bulk_insert

Action = AuditEvent.Action


@dataclass(frozen=True, slots=True)
class EventSpec:
    action: str
    object_type: str
    object_id: str = ""
    patient_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def spec_for(obj: models.Model, action: str, detail: dict[str, Any] | None = None) -> EventSpec:
    """The event describing `action` on a model instance, tied to its patient where it has one."""
    patient_id = getattr(obj, "patient_id", None)
    if patient_id is None and obj._meta.label_lower == "patients.patient":
        patient_id = obj.pk
    return EventSpec(
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        patient_id=patient_id,
        detail=detail or {},
    )


# The head is read and written with plain SQL: every audited page does both, and building the
# ORM queries cost more than running them. SQLite has no FOR UPDATE; its IMMEDIATE transactions
# already serialise writers.
_HEAD_TABLE = AuditChainHead._meta.db_table


def _lock_head() -> tuple[int, str]:
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM {_HEAD_TABLE} WHERE id = 1{lock}")  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
        return _lock_head()
    return int(row[0]), str(row[1])


def _move_head(seq: int, digest: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_HEAD_TABLE} SET seq = %s, hash = %s WHERE id = 1", [seq, digest])  # noqa: S608


def _disclosed(spec: EventSpec, to: str) -> EventSpec:
    """A view by another system through its API token is a disclosure to that system: the
    event says what was shown and to whom, and the patient's disclosures list finds it."""
    from django.apps import apps

    try:
        meta = apps.get_model(spec.object_type)._meta
        what = str(meta.verbose_name_plural if spec.detail.get("list") else meta.verbose_name)
    except (LookupError, ValueError):
        what = spec.object_type
    shown = f"REST API: {what}" + (" (a list)" if spec.detail.get("list") else "")
    return EventSpec(
        spec.action,
        spec.object_type,
        spec.object_id,
        spec.patient_id,
        {**spec.detail, "disclosure": shown, "to": to},
    )


@transaction.atomic
def audit_record_many(*, actor: Actor, specs: Sequence[EventSpec]) -> int:
    """Append events to the chain in order, in one transaction, holding the lock on the chain head
    (so concurrent writers queue and the chain never forks). Returns the seq of the last event."""
    if not specs:
        return 0
    seq, prev = _lock_head()
    now = timezone.now()
    actor_id = actor.user.pk if actor.user is not None else None
    key_id = keys.key_id()
    rows: list[tuple[Any, ...]] = []
    listed: list[tuple[int, int]] = []
    for spec in specs:
        seq += 1
        if actor.disclosed_to and spec.action == Action.VIEW:
            spec = _disclosed(spec, actor.disclosed_to)
        content = (
            seq,
            now,
            actor_id,
            actor.label,
            spec.action,
            spec.object_type,
            spec.object_id,
            spec.patient_id,
            actor.ip,
            actor.user_agent,
            spec.detail,
        )
        digest = link(prev, canonical_row(content))
        rows.append((*content, prev, digest, key_id))
        listed.extend((seq, pid) for pid in spec.detail.get("patients", ()))
        prev = digest
    bulk_insert(AuditEvent, EVENT_FIELDS, rows)
    if listed:
        bulk_insert(AuditListedPatient, ("seq", "patient_id"), listed)
    _move_head(seq, prev)
    return seq


def audit_record(
    *, actor: Actor, action: str, obj: models.Model, detail: dict[str, Any] | None = None
) -> int:
    """Append one event about `obj`; returns its seq."""
    return audit_record_many(actor=actor, specs=[spec_for(obj, action, detail)])


def audit_view(*, actor: Actor, obj: models.Model) -> int:
    """Record that `actor` was shown `obj` (a chart, a record)."""
    return audit_record(actor=actor, action=Action.VIEW, obj=obj)


def list_view_spec(object_type: str, ids: Sequence[int], patients: Iterable[int] | None = None) -> EventSpec:
    """A list view of these records; `patients`, the patients they belong to (for a list of
    patients, the ids themselves)."""
    if patients is None and object_type == "patients.patient":
        patients = ids
    detail: dict[str, Any] = {"list": True, "ids": [int(i) for i in ids]}
    if patients is not None:
        detail["patients"] = sorted({int(p) for p in patients})
    return EventSpec(Action.VIEW, object_type, detail=detail)


def audit_list_view(
    *, actor: Actor, object_type: str, ids: Sequence[int], patients: Iterable[int] | None = None
) -> int:
    """Record that a list showed these records (a search result, a dashboard panel): one event
    per page shown, naming the ids and the patients they belong to, so "who has seen this
    patient" includes lists."""
    if not ids:
        return 0
    return audit_record_many(actor=actor, specs=[list_view_spec(object_type, ids, patients)])


def audit_rows_view(*, actor: Actor, object_type: str, rows: Sequence[Any]) -> int:
    """`audit_list_view` of the rows a list showed, each a record of `object_type` belonging to
    the patient its `patient_id` names."""
    return audit_list_view(
        actor=actor,
        object_type=object_type,
        ids=[r.pk for r in rows],
        patients=[r.patient_id for r in rows],
    )


def audit_objects(*, actor: Actor, action: str, objs: Iterable[models.Model]) -> int:
    return audit_record_many(actor=actor, specs=[spec_for(o, action) for o in objs])

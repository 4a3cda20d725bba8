"""Reading the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from ketacare.audit.chain import GENESIS_HASH, canonical, link
from ketacare.audit.models import AuditChainHead, AuditEvent


@dataclass(frozen=True, slots=True)
class ChainReport:
    events_checked: int
    broken_at_seq: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at_seq is None and not self.problem


def chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    """Recompute every link of the chain in order and report the first one that does not hold.

    Streams the events, so memory stays flat however long the trail is.
    """
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    fields = (
        "seq",
        "occurred_at",
        "actor_id",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "ip",
        "user_agent",
        "detail",
        "prev_hash",
        "hash",
    )
    rows = AuditEvent.objects.order_by("seq").values_list(*fields).iterator(chunk_size=chunk_size)
    for (
        seq,
        occurred_at,
        actor_id,
        actor_label,
        action,
        object_type,
        object_id,
        patient_id,
        ip,
        user_agent,
        detail,
        stored_prev,
        stored_hash,
    ) in rows:
        if seq != expected_seq:
            return ChainReport(
                checked, expected_seq, f"event {expected_seq} is missing (next stored is {seq})"
            )
        if stored_prev != prev_hash:
            return ChainReport(checked, seq, f"event {seq} does not link to event {seq - 1}")
        content = canonical(
            seq=seq,
            occurred_at=occurred_at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            patient_id=patient_id,
            ip=ip,
            user_agent=user_agent,
            detail=detail,
        )
        if link(prev_hash, content) != stored_hash:
            return ChainReport(checked, seq, f"event {seq} was altered after it was written")
        prev_hash, expected_seq, checked = stored_hash, seq + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return ChainReport(
            checked,
            expected_seq,
            f"the chain head names event {head.seq} but the trail ends at event {expected_seq - 1}",
        )
    return ChainReport(checked)


def events_page(
    *,
    before_seq: int | None = None,
    patient_id: int | None = None,
    actor_label: str = "",
    action: str = "",
    size: int = 50,
) -> list[AuditEvent]:
    """The newest events first, `size` at a time (keyset pagination on seq: constant cost at any
    depth of a trail of millions)."""
    qs: QuerySet[AuditEvent] = AuditEvent.objects.order_by("-seq")
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    if actor_label:
        qs = qs.filter(actor_label=actor_label)
    if action:
        qs = qs.filter(action=action)
    return list(qs[:size])

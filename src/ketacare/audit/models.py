from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models

from ketacare.immutable import WrittenOnce


class AuditImmutableError(RuntimeError):
    """Audit events are append-only: a correction is a new event, never an edit."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditImmutableError("audit events cannot be updated")

    def delete(self) -> NoReturn:
        raise AuditImmutableError("audit events cannot be deleted")

    def _raw_delete(self, using: Any) -> NoReturn:
        raise AuditImmutableError("audit events cannot be deleted")


class AuditEvent(WrittenOnce):
    """One read or change of patient data (or a sign-in), chained to the event before it.

    `hash` is HMAC-SHA256, under the audit key kept outside the database, over the previous event's
    hash and this event's canonical content, so changing, removing or inserting any row breaks
    every link after it, and without the key the links cannot be recomputed (`ketacare
    audit-verify`, which also checks the anchors `ketacare audit-anchor` wrote).
    """

    refused = AuditImmutableError
    change_refused = "audit events cannot be updated"
    delete_refused = "audit events cannot be deleted"

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        LOGIN = "login", "Signed in"
        LOGOUT = "logout", "Signed out"
        LOGIN_FAILED = "login_failed", "Sign-in failed"

    seq = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    # A plain column, not a foreign key: audit sits below every app and must outlive any row.
    patient_id = models.BigIntegerField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Field names changed, never their values: patient data stays out of the trail.
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Which audit key linked this event (audit/keys.py key_id); "" for the unkeyed SHA-256 links
    # of events written before the chain was keyed.
    key_id = models.CharField(max_length=16, blank=True, db_default="")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ("-seq",)
        indexes = [
            models.Index(fields=["patient_id", "-seq"], name="audit_patient_seq"),
            models.Index(fields=["actor", "-seq"], name="audit_actor_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    @property
    def summary(self) -> str:
        """The event's detail in words for the audit page and its export: field names, roles,
        what happened to an account; never patient data (none is stored)."""
        d = self.detail or {}
        parts: list[str] = []
        if d.get("list"):
            parts.append(f"list of {len(d.get('ids', ()))}")
        if d.get("fields"):
            parts.append("fields: " + ", ".join(str(f) for f in d["fields"]))
        for key, value in sorted(d.items()):
            if key in ("list", "ids", "patients", "fields") or isinstance(value, (dict, list)):
                continue
            if value is False or value is None or value == "":
                continue
            label = key.replace("_", " ")
            parts.append(label if value is True else f"{label}: {value}")
        return "; ".join(parts)


class AuditChainHead(models.Model):
    """The newest link of the chain. Locking this one row serialises appends across processes,
    and it lets audit-verify notice events cut off the end of the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")]

    def __str__(self) -> str:
        return f"audit chain head at event {self.seq}"


class AuditListedPatient(models.Model):
    """An index of the patients a list view showed (a search result, a dashboard panel, a list of
    one patient's records): "who has seen this patient" finds lists too. Written with the event,
    from the patient ids the event's detail names (and checked against them by audit-verify)."""

    seq = models.PositiveBigIntegerField()
    patient_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["patient_id", "-seq"], name="audit_listed_patient_seq")]
        constraints = [models.UniqueConstraint(fields=["seq", "patient_id"], name="audit_listed_once")]

    def __str__(self) -> str:
        return f"event {self.seq} listed patient {self.patient_id}"

"""The hash chain: canonical content of an event and the keyed hash that links it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ketacare.audit import keys

GENESIS_HASH = "0" * 64

# The columns of an event that its hash covers, in the order of `canonical`'s arguments.
CONTENT_FIELDS = (
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
)
# Every column of a stored event: its content, then the link to the event before it.
EVENT_FIELDS = (*CONTENT_FIELDS, "prev_hash", "hash", "key_id")


def canonical(
    *,
    seq: int,
    occurred_at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    patient_id: int | None,
    ip: str | None,
    user_agent: str,
    detail: dict[str, Any],
) -> bytes:
    stamp = occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = [
        seq,
        stamp,
        actor_id,
        actor_label,
        action,
        object_type,
        object_id,
        patient_id,
        ip,
        user_agent,
        detail,
    ]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def canonical_row(row: Sequence[Any]) -> bytes:
    """The canonical content of an event given as a row that starts with its CONTENT_FIELDS (an
    event being written, or one read back to check it)."""
    return canonical(**dict(zip(CONTENT_FIELDS, row, strict=False)))


def link(prev_hash: str, content: bytes) -> str:
    """HMAC-SHA256 under the audit key (audit/keys.py) of the previous hash and this content:
    without the key a rewritten trail cannot be re-chained."""
    return keys.sign(prev_hash.encode() + b"\n" + content)


def legacy_link(prev_hash: str, content: bytes) -> str:
    """The unkeyed SHA-256 link of events written before the chain was keyed (key id "")."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + content).hexdigest()

"""Anchors: the chain's head (sequence number, hash, time) written now and then to an append-only
file outside the database (`ketacare audit-anchor`, e.g. every five minutes from cron or a
systemd timer). Whoever deletes the newest events and moves the chain head back leaves the trail
self-consistent, but an anchor names an event that is gone or differs: `audit-verify` reads every
anchor. Each line carries its own HMAC under the audit key, so anchors cannot be forged either.

The file is opened for appending only and kept 0600; on Linux make it append-only for good with
`chattr +a`, or ship the lines to another machine (syslog, object storage with retention)."""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ketacare.audit import keys


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    hash: str
    at: str
    line: int


class AnchorFileError(ValueError):
    """A line of the anchor file that is not an anchor KetaCare wrote with this key."""


def anchor_path() -> Path:
    return Path(settings.AUDIT_ANCHOR_FILE)


def anchor_write() -> Anchor:
    """Append the chain's current head to the anchor file; returns it."""
    from ketacare.audit.services import _lock_head

    with transaction.atomic():
        seq, digest = _lock_head()  # the head as committed, held still while it is read
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _append({"seq": seq, "hash": digest, "at": at})
    return Anchor(seq, digest, at, 0)


def _last_mac(fd: int) -> str:
    """The HMAC that ends the file's last line ("" for an empty file)."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return ""
    os.lseek(fd, max(0, size - 4096), os.SEEK_SET)
    tail = os.read(fd, 4096).decode(errors="replace").rstrip("\n")
    return tail.rsplit("\n", 1)[-1].rpartition(" ")[2]


def _append(data: dict[str, object]) -> None:
    """Append one line, chained to the line before it (its HMAC is part of this line's body), so
    that a line replayed, moved or taken out of the middle breaks the chain of lines."""
    path = anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # two writers at once append one after the other
        body = json.dumps({**data, "prev": _last_mac(fd)}, sort_keys=True, separators=(",", ":"))
        os.write(fd, f"{body} {keys.sign(body.encode())}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def restore_mark() -> Anchor:
    """After `ketacare restore`: the trail now ends where the backup did. Anchors written before
    this line that name later events are set aside from now on (those events were replaced by
    the restore, which the trail records); this line anchors the restored head."""
    from ketacare.audit.services import _lock_head

    with transaction.atomic():
        seq, digest = _lock_head()
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _append({"restored_to": seq, "hash": digest, "at": at})
    return Anchor(seq, digest, at, 0)


def anchors_read(path: Path | None = None) -> list[Anchor]:
    """Every anchor in the file that still applies, oldest first (a restore line sets aside the
    anchors before it that name events after it); AnchorFileError names the first line that is
    not one KetaCare wrote with this key."""
    path = path or anchor_path()
    if not path.exists():
        return []
    anchors: list[Anchor] = []
    prev = ""
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        if not raw.strip():
            continue
        body, _, mac = raw.rpartition(" ")
        if not body or not keys.matches(body.encode(), mac):
            raise AnchorFileError(f"line {number} of {path} is not an anchor written with this audit key")
        data = json.loads(body)
        if data.get("prev") != prev:
            raise AnchorFileError(
                f"line {number} of {path} does not follow the line before it: lines were removed, "
                "moved or replayed"
            )
        prev = mac
        if "restored_to" in data:
            restored = int(data["restored_to"])
            anchors = [a for a in anchors if a.seq <= restored]
            anchors.append(Anchor(restored, str(data["hash"]), str(data["at"]), number))
        else:
            anchors.append(Anchor(int(data["seq"]), str(data["hash"]), str(data["at"]), number))
    return anchors

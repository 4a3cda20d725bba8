"""The Today board: the clinic's chairs and the day's patients on one page, composed from the
treatment (appointments, chairs) and sessions (what is happening at each chair) selectors.

Nurses and physicians see each chair's patient, the step of the session, time in the chair, the
next vital signs due or overdue, alarms and alerts; the front desk sees the day's arrivals and
which chairs are taken. The page polls its own fragment; a poll that shows the same patients as
the page already showed is not recorded again in the audit trail (the patients shown are signed
into the page, so a client cannot claim to have seen what it was never shown)."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.utils import timezone

from ketacare.audit.services import EventSpec, list_view_spec
from ketacare.sessions import selectors as sessions
from ketacare.treatment import selectors as treatment
from ketacare.treatment.models import Appointment, Chair

POLL_SECONDS = 15  # how often an open board asks for changes
_SEEN_SALT = "ketacare.today.seen"


@dataclass(slots=True)
class ChairRow:
    chair: Chair
    session: sessions.BoardSession | None = None  # the patient in the chair now (not yet discharged)
    occupant: treatment.Slot | None = None  # for the front desk: the appointment checked in, in the chair
    next_slot: treatment.Slot | None = None  # the chair's next booked appointment today


@dataclass(slots=True)
class Board:
    day: datetime.date
    now: datetime.datetime
    clinical: bool  # the viewer may read sessions (nurse, physician)
    chairs: list[ChairRow]
    expected: list[treatment.Slot]  # booked today, not checked in, soonest first
    late: set[int]  # of those, the ones whose start has passed
    ready: list[sessions.BoardSession] = field(default_factory=list)
    to_sign: list[sessions.BoardSession] = field(default_factory=list)  # discharged, unsigned
    elsewhere: list[sessions.BoardSession] = field(default_factory=list)  # in no active chair
    attended: int = 0  # checked in today
    alarms: int = 0  # sessions with something needing a clinician now

    @property
    def patient_ids(self) -> list[int]:
        ids = {s.patient_id for s in self.expected}
        for row in self.chairs:
            if row.session is not None:
                ids.add(row.session.session.patient_id)
            for slot in (row.occupant, row.next_slot):
                if slot is not None:
                    ids.add(slot.patient_id)
        ids |= {b.session.patient_id for b in self.to_sign + self.elsewhere}
        return sorted(ids)


def board(*, user: Any, now: datetime.datetime | None = None) -> Board:
    """What the Today board shows this user: 4 queries for the front desk, 15 for a clinician (4
    with nobody in a chair), whatever the number of chairs and patients."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    clinical = user.has_perm("treatment_sessions.view_treatmentsession")
    chairs = treatment.chairs_in_order(active=True)
    slots = treatment.day_slots(day=day)
    rows = {c.pk: ChairRow(chair=c) for c in chairs}
    expected = [s for s in slots if s.status == Appointment.Status.BOOKED]
    result = Board(
        day=day,
        now=now,
        clinical=clinical,
        chairs=list(rows.values()),
        expected=expected,
        late={s.id for s in expected if s.starts_at < now},
        attended=sum(1 for s in slots if s.status == Appointment.Status.ATTENDED),
    )
    for slot in expected:
        row = rows.get(slot.chair_id or 0)
        if row is not None and row.next_slot is None and slot.ends_at > now:
            row.next_slot = slot
    if not clinical:
        # The front desk: a chair is taken by the latest patient checked in to it today. Whether
        # they have left is clinical (discharge), so the board says "checked in" and no more.
        for slot in slots:
            if slot.status == Appointment.Status.ATTENDED and slot.chair_id in rows:
                rows[slot.chair_id].occupant = slot
        return result
    for row_session in sessions.board(now=now):
        if row_session.step == "discharged":
            result.to_sign.append(row_session)
            continue
        row = rows.get(row_session.chair_id or 0)
        if row is None or row.session is not None:
            result.elsewhere.append(row_session)
        else:
            row.session = row_session
        if row_session.step == "ready to leave":
            result.ready.append(row_session)
        if row_session.warnings:
            result.alarms += 1
    return result


SEEN_MAX_AGE_SECONDS = 30 * 60  # a page's token is honoured this long: an open board re-audits twice an hour


def _shown(b: Board, *, user_id: int, session_key: str) -> str:
    """What a board showed, and to whom: the viewer, their signed-in session, the day, whether
    the clinical detail was shown, and the patients."""
    session = hashlib.sha256(session_key.encode()).hexdigest()[:16]
    patients = hashlib.sha256(",".join(map(str, b.patient_ids)).encode()).hexdigest()[:24]
    return f"{user_id}.{session}.{b.day.isoformat()}.{int(b.clinical)}.{patients}"


def seen_token(b: Board, *, user_id: int, session_key: str) -> str:
    """The signed record of what this page showed this user in this session (for its polls)."""
    return signing.TimestampSigner(salt=_SEEN_SALT).sign(_shown(b, user_id=user_id, session_key=session_key))


def audit_specs(b: Board, *, seen: str | None, user_id: int, session_key: str) -> list[EventSpec]:
    """The list-view event for the patients the board shows, unless this user's page, in this
    session, today, showed exactly these patients with the same detail within the last half
    hour (its signed token says so). A token taken from another user's page, another session or
    another day, or an old one, is no token: the view is recorded."""
    ids = b.patient_ids
    if not ids:
        return []
    if seen:
        try:
            shown = signing.TimestampSigner(salt=_SEEN_SALT).unsign(seen, max_age=SEEN_MAX_AGE_SECONDS)
        except signing.BadSignature:  # also SignatureExpired
            shown = None
        if shown == _shown(b, user_id=user_id, session_key=session_key):
            return []
    spec = list_view_spec("patients.patient", ids)
    spec.detail["board"] = "clinical" if b.clinical else "arrivals"
    return [spec]

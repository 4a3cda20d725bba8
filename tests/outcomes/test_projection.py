"""Outcomes as an explicit projection (issue 13, item 4): a clinical write only marks the patient
changed, in its own transaction; `catch_up` recomputes later, in a transaction of its own; a
broken outcome setting never loses or blocks a write, and is shown, not hidden."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from ketacare.measures.models import QuestionnaireResponse, SafetyAlert
from ketacare.measures.services import response_record
from ketacare.outcomes import selectors, services
from ketacare.outcomes.models import GROUP_INDEXES, OutcomeState, PatientOutcome, TreatedPatient
from ketacare.patients.models import RecordChange
from ketacare.patients.services import record_changed
from ketacare.screening.services import trial_record
from tests.outcome_helpers import at, phq9_answers

ITEM_9_TWO = [0, 0, 0, 0, 0, 0, 0, 0, 2]


def _pre_session_score_on_day_1(patient, actor):
    """The pre-session PHQ-9 of treatment 2 (day 1): 8, a response from a baseline of 20."""
    response_record(
        actor=actor,
        patient=patient,
        instrument="phq9",
        answers=phq9_answers(8),
        context="pre_session",
        administered_at=at(1),
    )


def test_a_broken_outcome_setting_never_loses_a_score_or_its_suicide_alert(treated, nurse_actor, settings):
    patient = treated([(-3, 20)])
    settings.OUTCOME_RULES = "{not json"
    response = response_record(
        actor=nurse_actor, patient=patient, instrument="phq9", answers=ITEM_9_TWO, context="follow_up"
    )
    # The score and its alert are stored, whatever the outcome rules say ...
    assert QuestionnaireResponse.objects.get(pk=response.pk).total == 2
    alert = SafetyAlert.objects.get(response=response)
    assert "suicidal_ideation" in alert.flags
    assert RecordChange.objects.filter(patient=patient).exists()
    # ... and the catch-up fails without raising, keeps the mark and records why.
    failed = services.catch_up()
    assert "KETACARE_OUTCOMES is not JSON" in failed.failure
    assert RecordChange.objects.filter(patient=patient).exists()
    assert "KETACARE_OUTCOMES is not JSON" in OutcomeState.objects.get(pk=1).failure
    # Mended, the next catch-up computes the mark and clears the failure.
    settings.OUTCOME_RULES = None
    assert services.catch_up().failure == ""
    assert not RecordChange.objects.exists()
    assert OutcomeState.objects.get(pk=1).failure == ""
    assert PatientOutcome.objects.get(patient=patient, instrument="phq9").latest_total == 2


def test_the_dashboard_shows_a_failed_catch_up_and_still_answers(treated, client_as, physician, settings):
    treated([(-3, 20), (1, 8)])
    settings.OUTCOME_RULES = '{"relapse_consecutive": 9}'
    page = client_as(physician).get("/outcomes/?instrument=phq9")
    assert page.status_code == 503  # no figure can be read under settings that do not parse
    html = page.content.decode()
    assert 'id="catch-up-failed"' in html
    assert "relapse_consecutive: must be 1 to 5 scores" in html


def test_a_score_saved_is_on_the_dashboard_at_the_next_read(treated, nurse_actor, client_as, physician):
    patient = treated([(-3, 20)])
    client = client_as(physician)
    before = client.get("/outcomes/?instrument=phq9").content.decode()
    assert "not enough data yet" in before.split('id="rates"')[1]
    _pre_session_score_on_day_1(patient, nurse_actor)
    html = client.get("/outcomes/?instrument=phq9").content.decode()
    rates = html.split('id="rates"')[1].split("</table>")[0]
    assert '100.0%</strong> <span class="muted">(1 of 1;' in rates
    assert not RecordChange.objects.exists()


def test_saving_a_score_costs_no_outcome_work(treated, nurse_actor):
    patient = treated([(-3, 20), (1, 8)])
    with CaptureQueriesContext(connection) as ctx:
        response_record(
            actor=nurse_actor,
            patient=patient,
            instrument="phq9",
            answers=phq9_answers(9),
            context="follow_up",
        )
    tables = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "outcomes_patientoutcome" not in tables  # nothing recomputed inside the write
    assert len(ctx.captured_queries) <= 13


def test_each_clinical_write_an_outcome_depends_on_marks_the_patient(treated, doctor, db):
    patient = treated([(-3, 20)])
    assert not RecordChange.objects.exists()
    trial_record(
        actor=doctor,
        patient=patient,
        drug="sertraline",
        daily_dose_mg=Decimal(150),
        started_on=at(-400).date(),
        stopped_on=at(-300).date(),
        outcome="no_response",
        adherence="good",
        current_episode=True,
    )
    assert list(RecordChange.objects.values_list("patient_id", flat=True)) == [patient.pk]


@pytest.mark.django_db(transaction=True)
def test_two_catch_ups_racing_recompute_each_change_once(treated, monkeypatch):
    patient = treated([(-3, 20), (1, 8)])
    record_changed([patient.pk])
    recomputed: list[list[int]] = []
    real_refresh = services.refresh
    entered = threading.Barrier(2, timeout=10)

    def counting_refresh(patient_ids=None, **kwargs):
        recomputed.append(sorted(patient_ids) if patient_ids is not None else ["all"])
        return real_refresh(patient_ids, **kwargs)

    monkeypatch.setattr(services, "refresh", counting_refresh)
    results = []

    def run():
        try:
            entered.wait()
            results.append(services.catch_up())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [r.failure for r in results] == ["", ""]
    assert recomputed == [[patient.pk]]
    assert sorted(r.patients for r in results) == [0, 1]


def test_outcomes_refresh_catches_up_the_changed_patients(treated, nurse_actor):
    from io import StringIO

    from django.core.management import call_command

    patient = treated([(-3, 20)])
    _pre_session_score_on_day_1(patient, nurse_actor)
    out = StringIO()
    call_command("outcomes", "--refresh", stdout=out)
    assert out.getvalue().strip() == "Outcomes up to date: recomputed 1 patient(s)."
    assert PatientOutcome.objects.get(patient=patient, instrument="phq9").first_response is True
    assert selectors.dashboard(selectors.Filters()).points["first"].response.events == 1


@pytest.mark.slow
def test_gunicorn_refuses_to_start_on_a_bad_setting(tmp_path: Path):
    env = {
        **os.environ,
        "KETACARE_VAR_DIR": str(tmp_path),
        "KETACARE_HTTPS": "false",
        "KETACARE_OUTCOMES": '{"relapse_consecutive": 9}',
    }
    env.pop("DATABASE_URL", None)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    done = subprocess.run(  # noqa: S603 - our own executable, fixed arguments
        [
            str(gunicorn),
            "ketacare.config.wsgi",
            "--config",
            "python:ketacare.config.gunicorn",
            "--bind",
            "127.0.0.1:0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "KetaCare will not start" in done.stderr
    assert "relapse_consecutive: must be 1 to 5 scores" in done.stderr


def _index_names() -> set[str]:
    names = set()
    with connection.cursor() as cursor:
        for model in (PatientOutcome, TreatedPatient):
            names |= set(connection.introspection.get_constraints(cursor, model._meta.db_table))
    return names


@pytest.mark.parametrize("patients", [0, 1])
def test_a_full_rebuild_leaves_every_index_in_place(treated, patients, db):
    if patients:
        treated([(-3, 20), (1, 8)])
    services.rebuild()
    names = _index_names()
    expected = {str(index.name) for m in (PatientOutcome, TreatedPatient) for index in m._meta.indexes}
    grouped = {str(index.name) for _, index in GROUP_INDEXES}  # SQLite's only
    assert expected <= names
    assert (grouped <= names) == (connection.vendor == "sqlite")
    assert PatientOutcome.objects.filter(instrument="phq9").count() == patients


def _stored_outcomes() -> list[tuple]:
    columns = [f.attname for f in PatientOutcome._meta.concrete_fields if not f.primary_key]
    return list(PatientOutcome.objects.order_by("patient_id", "instrument").values_list(*columns))


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_of_its_own_reads_the_scores_on_a_second_connection_with_the_same_result(
    treated, monkeypatch
):
    treated([(-3, 20), (0.1, 6), (1, 8), (8, 12)])
    treated([(-1, 17), (1, 15), (30, 4)], days=(0, 3, 6))
    treated([(-2, 22)], route="esketamine", days=(0, 2))
    read_on: list[object] = []
    real_scores = services._scores

    def recording_scores(patient_ids):
        read_on.append(connection.connection)  # this thread's own database connection
        return real_scores(patient_ids)

    monkeypatch.setattr(services, "_scores", recording_scores)
    with transaction.atomic():  # inside a caller's transaction: one connection
        services.rebuild()
    in_one = _stored_outcomes()
    assert read_on == [connection.connection]
    PatientOutcome.objects.all().delete()
    services.rebuild()  # its own transaction: the scores read on a second connection
    assert len(read_on) == 2 and read_on[1] is not connection.connection
    assert _stored_outcomes() == in_one
    assert {row[1] for row in in_one} == {"phq9"} and len(in_one) == 3


def test_a_change_made_while_a_catch_up_runs_keeps_its_mark(treated, monkeypatch):
    # On PostgreSQL a write can take its mark's id, then commit only after a catch-up has read the
    # patient's data and a later mark: the catch-up must delete just the marks it read, never
    # "every id up to the newest", or that write is never recomputed.
    patient = treated([(-3, 20), (1, 8)])
    real_refresh = services.refresh
    late: list[int] = []

    def refresh_while_an_earlier_write_commits(patient_ids=None, **kwargs):
        written = real_refresh(patient_ids, **kwargs)
        RecordChange.objects.create(id=late[0], patient=patient)  # the earlier id, committed late
        return written

    monkeypatch.setattr(services, "refresh", refresh_while_an_earlier_write_commits)
    for catch_up in (lambda: services.catch_up_patient(patient.pk), services.rebuild, services.catch_up):
        RecordChange.objects.all().delete()
        reserved = RecordChange.objects.create(patient=patient)  # the id the slow write holds
        late[:] = [reserved.pk]
        reserved.delete()
        record_changed([patient.pk])  # a later write, committed before the catch-up reads
        catch_up()
        assert list(RecordChange.objects.values_list("id", flat=True)) == [late[0]]


def _trial(actor, patient, started: float, stopped: float | None, drug: str = "sertraline") -> None:
    trial_record(
        actor=actor,
        patient=patient,
        drug=drug,
        daily_dose_mg=Decimal(150),
        started_on=at(started).date(),
        stopped_on=None if stopped is None else at(stopped).date(),
        outcome="no_response",
        adherence="good",
        current_episode=True,
    )


def test_weeks_on_trials_run_to_the_first_treatment_for_a_trial_not_stopped(treated, doctor):
    ongoing = treated([(-3, 20), (1, 8)])
    _trial(doctor, ongoing, -70, None)  # still taking it: counts up to the first ketamine dose
    stopped = treated([(-3, 20), (1, 8)])
    _trial(doctor, stopped, -200, -144)  # 8 weeks
    _trial(doctor, stopped, -170, -130, drug="venlafaxine")  # overlaps: 2 weeks more
    never_treated = treated([(-3, 20)], days=())
    _trial(doctor, never_treated, -70, None)
    for recompute in (services.catch_up, services.rebuild):
        recompute()
        weeks = dict(PatientOutcome.objects.values_list("patient_id", "weeks_on_trials"))
        assert weeks == {ongoing.pk: 10.0, stopped.pk: 10.0}  # no outcome row for the untreated


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plan")
def test_the_projection_reads_scores_from_the_covering_index_alone(treated):
    """A full rebuild reads every score of the clinic: from the narrow index, in its order, it
    neither touches the wide table rows nor sorts."""
    treated([(-3, 20), (1, 8)])
    reads: list[tuple[str, object]] = []

    def keep(execute, sql, params, many, context):
        if sql.startswith(("SELECT", "WITH")) and "measures_questionnaireresponse" in sql:
            reads.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        services.rebuild()
    plans = []
    with connection.cursor() as cursor:
        for sql, params in reads:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plans += [str(row[-1]) for row in cursor.fetchall()]
    # The scores stream from the index into the joining of each column's values (`rows`).
    assert plans == [
        "CO-ROUTINE rows",
        "SCAN measures_questionnaireresponse USING COVERING INDEX response_patient_scale_cover",
        "SCAN rows",
    ]


def test_a_packed_read_unpacks_every_field_at_its_limits():
    import numpy as np

    from ketacare.clinical import instruments
    from ketacare.outcomes.services import (
        CODE_BITS,
        CONTEXTS,
        OUTCOME_SCALES,
        PROTOCOLS,
        ROUTES,
        TOTAL_BITS,
        _total,
        _unpacked,
    )

    # Every scale's highest total and every code fit their bits (-1, "any other", included).
    assert max(instruments.get(c).max_total for c in OUTCOME_SCALES) < 1 << TOTAL_BITS
    assert max(len(OUTCOME_SCALES), len(CONTEXTS), len(ROUTES), len(PROTOCOLS)) < (1 << CODE_BITS) - 1
    rows = [(1, -1, -1, 0), (10**12, len(OUTCOME_SCALES) - 1, len(CONTEXTS) - 1, 92), (77, 2, 3, 27)]
    code, total_bits = 1 << CODE_BITS, 1 << TOTAL_BITS
    packed = np.array(
        [((p * code + a + 1) * code + b + 1) * total_bits + total for p, a, b, total in rows], dtype=np.int64
    )
    totals, rest = _total(packed)
    first, (a, b) = _unpacked(rest, 2)
    got = zip(first.tolist(), a.tolist(), b.tolist(), totals.tolist(), strict=True)
    assert list(got) == rows


def test_rows_the_database_returns_out_of_order_are_sorted_not_trusted(treated, monkeypatch):
    """SQLite is asked for the scores in index order, and the order is checked: rows that come
    back in any other order are sorted before the time points are read from them."""
    import numpy as np

    treated([(-3, 20), (1, 8), (2, 6)])
    treated([(-3, 18), (1, 17)])
    in_order = services._scores(None)
    read = services._columns

    def backwards(query, dtypes):
        return [column[::-1].copy() for column in read(query, dtypes)]

    monkeypatch.setattr(services, "_columns", backwards)
    shuffled = services._scores(None)
    (scores, contexts), (again, again_contexts) = in_order["phq9"], shuffled["phq9"]
    assert len(scores.patient) == 5
    for name in ("patient", "at", "total", "post_session"):
        assert np.array_equal(getattr(scores, name), getattr(again, name))
    assert np.array_equal(contexts, again_contexts)


def test_the_order_check_finds_a_step_back_in_any_key():
    import numpy as np

    from ketacare.outcomes.services import _ascending

    def keys(*columns):  # most significant first, as read; `_ascending` takes lexsort's order
        return [np.array(c) for c in reversed(columns)]

    assert _ascending(keys([], []))
    assert _ascending(keys([1, 1, 2], [5, 6, 0]))  # ties on the first key broken by the second
    assert not _ascending(keys([1, 2, 1], [0, 0, 0]))  # the first key steps back
    assert not _ascending(keys([1, 1, 2], [6, 5, 0]))  # a tie broken the wrong way
    assert not _ascending(keys([1, 1], [5, 5], [3, 2]))  # the last key steps back within a tie


def test_times_are_read_to_the_microsecond(treated, nurse_actor):
    """The full recomputation's columnar read brings each time back to the microsecond, so a
    score one microsecond before the first dose is still before it."""
    import datetime

    patient = treated([(-3, 20)])
    exact = datetime.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=datetime.UTC)
    QuestionnaireResponse.objects.filter(patient=patient).update(administered_at=exact)
    (scores, _contexts) = services._scores([patient.pk])["phq9"]
    assert scores.at.tolist() == [pytest.approx(exact.timestamp(), abs=1e-6)]


def test_rows_computed_ahead_come_in_order_with_one_waiting_at_most():
    from concurrent.futures import ThreadPoolExecutor

    from ketacare.outcomes.services import _one_ahead

    started: list[int] = []

    def job(n):
        def run():
            started.append(n)
            return n * 10

        return run

    with ThreadPoolExecutor(max_workers=1) as worker:
        results = _one_ahead(worker, [job(n) for n in range(4)])
        worker.submit(lambda: None).result()  # the first job has run before anything is taken
        assert started == [0]
        assert next(results) == 0
        worker.submit(lambda: None).result()
        assert started == [0, 1]  # the next one runs as the last is handed over, no further
        assert list(results) == [10, 20, 30]
        assert list(_one_ahead(worker, [])) == []


def test_a_rebuild_that_fails_on_one_scale_leaves_the_stored_outcomes_as_they_were(
    treated, nurse_actor, monkeypatch
):
    """The rows of each scale are computed on a second thread: a failure there still undoes the
    whole recomputation (one transaction), and the dashboard keeps its last complete figures."""
    patient = treated([(-3, 20), (1, 8)])
    response_record(
        actor=nurse_actor,
        patient=patient,
        instrument="gad7",
        answers=[1] * 7,
        context="pre_session",
        administered_at=at(-3),
    )
    services.rebuild()
    before = sorted(PatientOutcome.objects.values_list("patient_id", "instrument", "first_total"))
    assert [row[1] for row in before] == ["gad7", "phq9"]
    table_rows = services._table_rows

    def fails_on_gad7(code, *args, **kwargs):
        if code == "gad7":
            raise RuntimeError("a scale's rows could not be made")
        return table_rows(code, *args, **kwargs)

    monkeypatch.setattr(services, "_table_rows", fails_on_gad7)
    with pytest.raises(RuntimeError, match="could not be made"):
        services.rebuild()
    assert sorted(PatientOutcome.objects.values_list("patient_id", "instrument", "first_total")) == before
    assert TreatedPatient.objects.filter(patient=patient).exists()

import datetime

import pytest

from ketacare.demo.patients import seed_cohort
from ketacare.patients.selectors import parse_search, patient_chart, patient_search

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(register):
    return {
        "anna": register(given_name="Anna", family_name="Smith", date_of_birth=datetime.date(1980, 4, 23)),
        "smitty": register(given_name="Smitty", family_name="Jones", date_of_birth=datetime.date(1975, 1, 2)),
        "sean": register(given_name="Seán", family_name="O'Brien", date_of_birth=datetime.date(1990, 12, 1)),
        "annabel": register(
            given_name="Annabel", family_name="Smithson", date_of_birth=datetime.date(1980, 4, 23)
        ),
    }


def found(text):
    return [f"{p.given_name} {p.family_name}" for p in patient_search(text=text)[1]]


def test_one_word_matches_the_start_of_family_or_given_name(people):
    assert found("smit") == ["Smitty Jones", "Anna Smith", "Annabel Smithson"]


def test_family_comma_given(people):
    assert found("Smith, Ann") == ["Anna Smith", "Annabel Smithson"]
    assert found("smithson, anna") == ["Annabel Smithson"]


def test_given_then_family_in_either_order(people):
    assert found("anna smith") == ["Anna Smith", "Annabel Smithson"]
    assert found("smith anna") == ["Anna Smith", "Annabel Smithson"]


def test_accents_and_apostrophes_do_not_matter(people):
    assert found("obrien") == ["Seán O'Brien"]
    assert found("sean o'b") == ["Seán O'Brien"]


def test_any_part_of_a_hyphenated_or_multi_word_family_name_is_found_by_prefix(people, register, actor):
    from ketacare.patients.models import NamePart
    from ketacare.patients.services import patient_update

    register(given_name="Maeve", family_name="O'Neill-Testa", date_of_birth=datetime.date(1984, 4, 2))
    register(given_name="Luis", family_name="de la Cruz", date_of_birth=datetime.date(1970, 5, 6))
    assert found("testa") == ["Maeve O'Neill-Testa"]
    assert found("tes") == ["Maeve O'Neill-Testa"]
    assert found("oneill") == ["Maeve O'Neill-Testa"]
    assert found("maeve testa") == ["Maeve O'Neill-Testa"]
    assert found("Testa, Mae") == ["Maeve O'Neill-Testa"]
    assert found("cruz") == ["Luis de la Cruz"]
    assert found("cruz luis") == ["Luis de la Cruz"]
    assert found("neill") == []  # a part is split at spaces and hyphens, not inside O'Neill
    # A new family name replaces the old parts.
    anna = people["anna"]
    patient_update(actor=actor, patient=anna, details={"family_name": "Smith-Rivera"})
    assert found("rivera") == ["Anna Smith-Rivera"]
    patient_update(actor=actor, patient=anna, details={"family_name": "Smith"})
    assert found("rivera") == []
    assert NamePart.objects.filter(patient=anna).count() == 0


def test_a_name_part_search_reads_indexes_only():
    """The later parts are found through their own index, then the patients by primary key
    beside the name indexes: no scan of the patient table."""
    from django.db import connection

    from ketacare.patients.models import NamePart

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's query plan")
    _query, qs = patient_search(text="testa")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " / ".join(str(row[-1]) for row in cursor.fetchall())
    assert "SCAN patients_patient " not in plan + " ", plan
    parts = NamePart.objects.filter(key__gte="testa", key__lt="testb").values_list("patient_id", flat=True)
    sql, params = parts.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        assert "COVERING INDEX name_part_key" in str(cursor.fetchall())


def test_mrn_in_any_case_with_dashes(people):
    mrn = people["sean"].mrn
    assert found(f"{mrn[:4].lower()}-{mrn[4:]}") == ["Seán O'Brien"]


def test_date_of_birth_iso_and_us(people):
    assert found("1980-04-23") == ["Anna Smith", "Annabel Smithson"]
    assert found("4/23/1980") == ["Anna Smith", "Annabel Smithson"]


def test_impossible_date_explains_the_format(people):
    query = parse_search("1980-02-30")
    assert query.kind == "invalid" and "YYYY-MM-DD" in query.problem
    assert found("1980-02-30") == []


def test_punctuation_only_asks_for_something_searchable():
    assert parse_search("--").kind == "invalid"


def test_search_query_count_does_not_grow_with_the_registry(django_assert_max_num_queries, register):
    register()
    with django_assert_max_num_queries(3):  # the later name parts, the rows, their diagnoses
        list(patient_search(text="smi")[1][:25])
    seed_cohort(patients=300, seed=5)
    with django_assert_max_num_queries(2):
        rows = list(patient_search(text="")[1][:25])
        for p in rows:
            list(p.primary_diagnoses)
    assert len(rows) == 25


def test_chart_reads_in_a_fixed_number_of_queries(register, actor, django_assert_num_queries):
    from decimal import Decimal

    from ketacare.patients.services import allergy_record, measurement_record

    patient = register()
    with django_assert_num_queries(4):
        chart = patient_chart(patient_id=patient.pk)
    for i in range(30):
        measurement_record(actor=actor, patient=patient, weight_kg=Decimal(70 + i), height_cm=None)
        allergy_record(actor=actor, patient=patient, substance=f"Substance {i}")
    # Five: the recent measurements hold no height, so the last known one is looked up.
    with django_assert_num_queries(5):
        chart = patient_chart(patient_id=patient.pk)
        assert len(chart.patient.allergies.all()) == 30
    assert chart.weight_kg == Decimal("99.0")
    assert chart.height_cm == Decimal("168.0")  # older than the ten shown: looked up separately
    assert chart.bmi == Decimal("35.1")


def test_whole_registry_pages_without_counting_and_searches_count_exactly(
    register, django_assert_num_queries
):
    from ketacare.patients.selectors import patient_search_page

    for i in range(7):
        register(given_name=f"Given{i}", family_name=f"Family{i}")
    register(given_name="Zoe", family_name="Other")
    with django_assert_num_queries(2):  # rows (+1), primary diagnoses: no COUNT
        _, page = patient_search_page(text="", page=2, per_page=3)
    assert (page.total, page.number, page.has_previous, page.has_next) == (None, 2, True, True)
    assert [p.family_name for p in page.patients] == ["Family3", "Family4", "Family5"]
    _, last = patient_search_page(text="", page=3, per_page=3)
    assert ([p.family_name for p in last.patients], last.has_next) == (["Family6", "Other"], False)
    _, beyond = patient_search_page(text="", page=99, per_page=3)
    assert beyond.number == 1
    with django_assert_num_queries(4):  # later name parts, count, rows (+1), diagnoses
        _, found = patient_search_page(text="family", page="x", per_page=3)
    assert (found.total, found.num_pages, found.number, found.has_next) == (7, 3, 1, True)
    _, clamped = patient_search_page(text="family", page=50, per_page=3)
    assert (clamped.number, [p.family_name for p in clamped.patients]) == (3, ["Family6"])

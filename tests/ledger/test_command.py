"""`ketacare ledger apply` and `ketacare ledger balance`: a clinic's paper book brought onto the
ledger, all or nothing, through the same services as the ledger's pages."""

from __future__ import annotations

import copy
import datetime
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.accounts.services import user_create
from ketacare.audit.models import AuditEvent
from ketacare.ledger.models import Countersignature, Discrepancy, Entry, Lot, Product, Registration
from ketacare.patients.models import Patient
from ketacare.sessions.models import TreatmentSession
from tests.conftest import PASSWORD

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ledger-apply.json"
EXAMPLE_MRN = "KC00000018"

# What the example file leaves on the book (docs/ledger.md walks through it).
EXAMPLE_BALANCES = [
    {"product": "esketamine-28", "lot": "SP5521", "on_hand_mg": "168", "on_hand_ml": None},
    {"product": "ketamine-50-10", "lot": "K2401", "on_hand_mg": "700", "on_hand_ml": "14.00"},
    {"product": "ketamine-50-10", "lot": "K2417", "on_hand_mg": "1000", "on_hand_ml": "20.00"},
]
EXAMPLE_DISCREPANCY = {
    "product": "ketamine-50-10",
    "lot": "K2401",
    "book_mg": "710",
    "counted_mg": "700",
    "entry": 6,
}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clinic_time(settings: Any) -> None:
    # A clinic on Central time: the file's times are local, and 8 March 2026 changes the offset.
    settings.TIME_ZONE = "America/Chicago"


@pytest.fixture
def staff(db: Any) -> dict[str, User]:
    """The people the example file names: a physician and two nurses, and a front-desk clerk."""
    people = {
        "dr.okafor": Role.PHYSICIAN,
        "nurse.lee": Role.NURSE,
        "nurse.park": Role.NURSE,
        "desk.kim": Role.FRONT_DESK,
    }
    return {name: user_create(username=name, password=PASSWORD, role=role) for name, role in people.items()}


@pytest.fixture
def session(register: Callable[..., Patient]) -> TreatmentSession:
    """A patient whose imported history has an IV ketamine dose started at 10:00 on 10 March."""
    patient = register()
    return TreatmentSession.objects.create(
        patient=patient,
        source=TreatmentSession.Source.IMPORT,
        protocol="iv_ketamine_standard",
        route="iv_ketamine",
        number=1,
        checked_in_at=local(2026, 3, 10, 9, 30),
        dose_started_at=local(2026, 3, 10, 10, 0),
        notes="Imported history.",
    )


@pytest.fixture
def example(staff: dict[str, User], session: TreatmentSession) -> dict[str, Any]:
    """The documented example, naming this database's patient."""
    doc = json.loads(EXAMPLE.read_text())
    for entry in doc["entries"]:
        if "patient_mrn" in entry:
            entry["patient_mrn"] = session.patient.mrn
    return doc


def local(*parts: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*parts))  # noqa: DTZ001 - made aware here


def write(tmp_path: Path, doc: Any, name: str = "ledger.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def apply(tmp_path: Path, doc: Any, capsys: Any) -> Any:
    call_command("ledger", "apply", str(write(tmp_path, doc)))
    return json.loads(capsys.readouterr().out)


def refused(tmp_path: Path, doc: Any) -> str:
    with pytest.raises(CommandError) as err:
        call_command("ledger", "apply", str(write(tmp_path, doc)))
    assert err.value.returncode == 2
    return str(err.value)


def book() -> dict[str, Any]:
    """Everything the ledger holds, and the audit trail's length: to show a refusal wrote nothing."""
    return {
        "registrations": Registration.objects.count(),
        "products": Product.objects.count(),
        "lots": list(Lot.objects.order_by("pk").values_list("number", "on_hand_mg", "first_punctured_at")),
        "entries": Entry.objects.count(),
        "discrepancies": Discrepancy.objects.count(),
        "countersignatures": Countersignature.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


def test_the_example_file_opens_the_book_and_prints_every_lot_and_the_open_discrepancy(
    tmp_path, capsys, example, session
):
    out = apply(tmp_path, example, capsys)

    assert out == {"balances": EXAMPLE_BALANCES, "discrepancies": [EXAMPLE_DISCREPANCY]}
    registration = Registration.objects.get()
    assert (registration.name, registration.dea_number) == ("KetaCare Clinic, Springfield", "BK2345672")
    assert [str(p) for p in Product.objects.order_by("code")] == [
        "Esketamine nasal spray 28 mg/device, 2 per pack",
        "Ketamine 50 mg/mL, 10 mL vial",
    ]
    rows = list(
        Entry.objects.order_by("id").values_list(
            "kind", "lot__number", "quantity_mg", "balance_after_mg", "counted_mg", "by__username"
        )
    )
    assert [(k, lot, q.normalize(), b, c, by) for k, lot, q, b, c, by in rows] == [
        ("inventory", "K2401", 750, 750, 750, "dr.okafor"),
        ("inventory", None, 0, None, 0, "dr.okafor"),
        ("receipt", "K2417", 1000, 1000, None, "nurse.lee"),
        ("receipt", "SP5521", 168, 168, None, "nurse.lee"),
        ("administration", "K2401", -36, 714, None, "nurse.lee"),
        ("waste", "K2401", -4, 710, None, "nurse.lee"),
        ("count", "K2401", 0, 710, 700, "nurse.lee"),
        ("loss", "K2401", -10, 700, None, "dr.okafor"),
        ("inventory", "K2401", 0, 700, 700, "dr.okafor"),
        ("inventory", "K2417", 0, 1000, 1000, "dr.okafor"),
    ]
    administration = Entry.objects.get(kind="administration")
    assert (administration.session, administration.patient_id) == (session, session.patient_id)
    assert administration.at == local(2026, 3, 10, 10, 0)
    assert Entry.objects.get(kind="waste").witness.username == "nurse.park"
    assert Entry.objects.get(kind="count").witness.username == "nurse.park"
    assert list(Entry.objects.filter(kind="inventory").values_list("business", flat=True)) == [
        "opening",
        "opening",
        "close",
        "close",
    ]
    receipt = Entry.objects.get(kind="receipt", lot__number="K2417")
    assert (receipt.containers, receipt.supplier_dea, receipt.invoice) == (2, "PM3456781", "INV-20456")
    # The first dose punctured the vial: the time the multi-dose beyond-use date counts from.
    assert Lot.objects.get(number="K2401").first_punctured_at == local(2026, 3, 10, 10, 0)
    # Local times: 8:00 on 2 March is Central standard time, 10:00 on 10 March daylight time.
    assert Entry.objects.order_by("id").first().at == datetime.datetime(
        2026, 3, 2, 14, 0, tzinfo=datetime.UTC
    )
    assert administration.at == datetime.datetime(2026, 3, 10, 15, 0, tzinfo=datetime.UTC)
    # Each entry is audited as the clinician who recorded it, like an entry made on the pages.
    ledger_events = AuditEvent.objects.filter(object_type="ledger.entry").order_by("seq")
    assert list(ledger_events.values_list("actor_label", flat=True)) == [
        "dr.okafor",
        "dr.okafor",
        "nurse.lee",
        "nurse.lee",
        "nurse.lee",
        "nurse.lee",
        "nurse.lee",
        "dr.okafor",
        "dr.okafor",
        "dr.okafor",
    ]


def test_the_documented_example_is_the_example_file_and_its_output():
    text = (EXAMPLE.parents[1] / "ledger.md").read_text()
    example = text[text.index("### Example") : text.index("### Refusals")]
    blocks = [json.loads(b.split("```", 1)[0]) for b in example.split("```json\n")[1:]]
    assert blocks == [
        json.loads(EXAMPLE.read_text()),
        {"balances": EXAMPLE_BALANCES, "discrepancies": [EXAMPLE_DISCREPANCY]},
    ]


def test_balance_prints_the_same_balances_and_discrepancies(tmp_path, capsys, example):
    applied = apply(tmp_path, example, capsys)

    call_command("ledger", "balance", "--json")
    out = json.loads(capsys.readouterr().out)

    assert out["balances"] == applied["balances"] == EXAMPLE_BALANCES
    # Outside a run, a discrepancy names no entry of a file.
    assert out["discrepancies"] == [{**EXAMPLE_DISCREPANCY, "entry": None}]


def test_balance_of_an_empty_database_is_empty(capsys):
    call_command("ledger", "balance", "--json")
    assert json.loads(capsys.readouterr().out) == {"balances": [], "discrepancies": []}


def test_balance_with_several_locations_needs_the_dea_number(tmp_path, capsys, example, staff):
    apply(tmp_path, example, capsys)
    Registration.objects.create(name="Second site", address="1 Oak Road", dea_number="BK1234563")

    with pytest.raises(CommandError) as err:
        call_command("ledger", "balance", "--json")
    assert (err.value.returncode, str(err.value)) == (2, "--dea: name the location (BK1234563, BK2345672)")

    call_command("ledger", "balance", "--json", "--dea", "bk2345672")
    assert json.loads(capsys.readouterr().out)["balances"] == EXAMPLE_BALANCES
    call_command("ledger", "balance", "--json", "--dea", "BK1234563")
    assert json.loads(capsys.readouterr().out) == {"balances": [], "discrepancies": []}


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path
        target: Any = doc
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            _set(("entries", 5, "witness"), "nurse.lee"),
            "entry 5: witness: The witness must be a different clinician from the one recording.",
            id="witness-is-the-recorder",
        ),
        pytest.param(
            _set(("entries", 5, "mg"), 800),
            "entry 5: mg: Lot K2401 holds 714 mg (14.28 mL): not enough for 800 mg (16.00 mL).",
            id="waste-larger-than-the-lot",
        ),
        pytest.param(
            _set(("entries", 0, "lots", 0, "expiry"), "2026-03-09"),
            "entry 4: lot: Lot K2401 expired on 2026-03-09: it cannot be used.",
            id="administration-from-an-expired-lot",
        ),
        pytest.param(
            _set(("entries", 2, "supplier_dea"), "PM3456782"),
            "entry 2: supplier_dea: Supplier's DEA number: The check digit does not match: the DEA "
            "number has been mistyped.",
            id="bad-supplier-dea-number",
        ),
        pytest.param(
            _set(("entries", 2, "at"), "2026-03-01T09:00"),
            "entry 2: at: This is dated before the initial inventory of 2026-03-02 08:00.",
            id="before-the-initial-inventory",
        ),
        pytest.param(
            _set(("entries", 7, "at"), "2099-01-01T09:00"),
            "entry 7: at: A ledger entry cannot be dated in the future.",
            id="future-date",
        ),
        pytest.param(
            _set(("entries", 6, "by"), "nurse.nobody"),
            "entry 6: by: no user named 'nurse.nobody'",
            id="unknown-user",
        ),
        pytest.param(
            _set(("entries", 6, "witness"), "nurse.nobody"),
            "entry 6: witness: no user named 'nurse.nobody'",
            id="unknown-witness",
        ),
        pytest.param(
            _set(("entries", 2, "by"), "desk.kim"),
            "entry 2: by: desk.kim may not record ledger entries (nurses and physicians do)",
            id="recorder-without-the-permission",
        ),
        pytest.param(
            _set(("entries", 3, "supplier_address"), _DELETE),
            "entry 3: supplier_address: missing",
            id="missing-field",
        ),
        pytest.param(
            _set(("entries", 6, "counted_mg"), "seven hundred"),
            'entry 6: counted_mg: "seven hundred" is not a number',
            id="quantity-not-a-number",
        ),
        pytest.param(
            _set(("entries", 3, "containers"), 2.5),
            "entry 3: containers: 2.5 is not a whole number",
            id="containers-not-whole",
        ),
        pytest.param(
            _set(("entries", 6, "witnes"), "nurse.park"),
            "entry 6: witnes: not a field of a count entry",
            id="misspelt-field",
        ),
        pytest.param(
            _set(("entries", 6, "kind"), "tally"),
            "entry 6: kind: 'tally' is not one of inventory, receipt, administration, waste, count, loss",
            id="unknown-kind",
        ),
        pytest.param(
            _set(("entries", 6, "at"), "12 March 2026"),
            'entry 6: at: "12 March 2026" is not a date and time (such as 2026-03-01T09:00)',
            id="date-not-iso-8601",
        ),
        pytest.param(
            _set(("entries", 2, "expiry"), "2027-6-30"),
            'entry 2: expiry: "2027-6-30" is not a date (YYYY-MM-DD)',
            id="expiry-not-yyyy-mm-dd",
        ),
        pytest.param(
            _set(("entries", 4, "at"), "2026-03-10T10:05"),
            f"entry 4: at: no session of patient {EXAMPLE_MRN} started at 2026-03-10 10:05",
            id="administration-without-a-session",
        ),
        pytest.param(
            _set(("entries", 4, "lot"), "K9999"),
            "entry 4: lot: lot K9999 of ketamine-50-10 is not on the ledger: receive it or inventory it "
            "first",
            id="lot-not-on-the-ledger",
        ),
        pytest.param(
            _set(("entries", 0, "lots", 0, "expiry"), _DELETE),
            "entry 0: expiry: Give the expiry date of lot K2401.",
            id="new-lot-in-the-inventory-without-its-expiry",
        ),
        pytest.param(
            _set(("entries", 1, "mg"), 56),
            "entry 1: lot: name the lot of the 56 mg on hand (mg 0 with no lot: nothing on hand)",
            id="stock-on-hand-without-its-lot",
        ),
        pytest.param(
            _set(("entries", 0, "lots", 0, "mg"), -5),
            "entry 0: mg: An inventory counts what is on hand: 0 mg or more.",
            id="negative-inventory",
        ),
        pytest.param(
            _set(("products", 0, "container_ml"), _DELETE),
            "product ketamine-50-10: container_ml: missing",
            id="product-without-its-vial-size",
        ),
        pytest.param(
            _set(("registration", "dea_number"), "BK2345673"),
            "registration: dea_number: The check digit does not match: the DEA number has been mistyped.",
            id="bad-registration-dea-number",
        ),
    ],
)
def test_a_refused_entry_exits_2_naming_it_and_nothing_is_recorded(
    tmp_path, example, session, change, message
):
    before = book()
    doc = copy.deepcopy(example)
    change(doc)
    if EXAMPLE_MRN != session.patient.mrn:
        message = message.replace(EXAMPLE_MRN, session.patient.mrn)

    assert refused(tmp_path, doc) == message
    assert book() == before == {**before, "registrations": 0, "products": 0, "lots": [], "entries": 0}


def test_bad_json_exits_2_with_the_line_and_column(tmp_path, staff):
    path = write(tmp_path, '{"entries": [\n  {"kind": "inventory",}\n]}')
    with pytest.raises(CommandError) as err:
        call_command("ledger", "apply", str(path))
    assert err.value.returncode == 2
    assert (
        str(err.value)
        == f"{path}: not valid JSON: Expecting property name enclosed in double quotes at line 2 column 24"
    )
    assert book()["entries"] == 0


def test_a_file_that_is_not_there_exits_2(tmp_path):
    with pytest.raises(CommandError) as err:
        call_command("ledger", "apply", str(tmp_path / "missing.json"))
    assert (err.value.returncode, str(err.value)) == (
        2,
        f"{tmp_path / 'missing.json'}: cannot be read (No such file or directory)",
    )


def test_an_entry_that_is_not_an_object_and_a_file_without_entries_are_refused(tmp_path, example):
    doc = copy.deepcopy(example)
    doc["entries"][3] = "receipt"
    assert refused(tmp_path, doc) == 'entry 3: an entry is a JSON object {"kind", "at", "product", "by", ...}'
    assert refused(tmp_path, {"products": []}) == "file: entries: missing (a list of entries)"
    assert (
        refused(tmp_path, {"entries": [], "entires": []})
        == "file: entires: not a field of the file (registration, products, entries)"
    )
    assert book()["entries"] == 0


def test_a_later_file_reuses_the_location_and_identical_products(tmp_path, capsys, example):
    apply(tmp_path, example, capsys)
    later = {
        "products": example["products"],
        "entries": [
            {
                "kind": "receipt",
                "at": "2026-04-02T10:00",
                "product": "esketamine-28",
                "lot": "SP5521",
                "expiry": "2027-09-30",
                "containers": 1,
                "supplier_name": "Midwest Medical Supply",
                "supplier_address": "900 Commerce Drive, Peoria, IL 61602",
                "supplier_dea": "PM3456781",
                "by": "nurse.park",
            },
            {
                "kind": "count",
                "at": "2026-04-02T17:00",
                "product": "esketamine-28",
                "lot": "SP5521",
                "counted_mg": 224,
                "witness": "nurse.lee",
                "by": "nurse.park",
            },
        ],
    }

    out = apply(tmp_path, later, capsys)

    assert (Registration.objects.count(), Product.objects.count()) == (1, 2)
    assert out["balances"][0] == {
        "product": "esketamine-28",
        "lot": "SP5521",
        "on_hand_mg": "224",
        "on_hand_ml": None,
    }
    # The count agreed with the book; the discrepancy of the first file stays open, naming no
    # entry of this one.
    assert out["discrepancies"] == [{**EXAMPLE_DISCREPANCY, "entry": None}]


def test_a_product_already_on_the_ledger_with_other_units_is_refused(tmp_path, capsys, example):
    apply(tmp_path, example, capsys)
    before = book()
    later = copy.deepcopy(example)
    del later["registration"]
    later["products"][0]["concentration_mg_per_ml"] = 100
    later["entries"] = []

    assert refused(tmp_path, later) == (
        "product ketamine-50-10: concentration_mg_per_ml: the product on the ledger has 50, not 100: "
        "give it another code"
    )
    assert book() == before


def test_without_a_registration_in_the_file_one_location_must_exist(tmp_path, example):
    doc = copy.deepcopy(example)
    del doc["registration"]
    assert refused(tmp_path, doc) == (
        'registration: no location is registered yet: give the file a "registration" with its name, '
        "address and dea_number"
    )
    Registration.objects.create(name="A", address="1 Oak Road", dea_number="BK1234563")
    Registration.objects.create(name="B", address="2 Oak Road", dea_number="AB1234563")
    assert refused(tmp_path, doc) == (
        'registration: more than one location is registered: give the file a "registration" with the '
        "dea_number of the one to use"
    )


def test_a_nurse_cannot_set_up_the_location_or_a_product(tmp_path, example):
    before = book()
    doc = copy.deepcopy(example)
    doc["registration"]["by"] = "nurse.lee"
    assert refused(tmp_path, doc) == (
        "registration: by: nurse.lee may not set up the ledger: name a physician or the clinic admin"
    )
    doc = copy.deepcopy(example)
    doc["entries"].insert(0, doc["entries"].pop(2))  # a nurse's receipt first
    doc["registration"]["by"] = "dr.okafor"
    assert refused(tmp_path, doc) == (
        "product ketamine-50-10: by: nurse.lee (the first entry's by) may not set up the ledger: name a "
        "physician or the clinic admin"
    )
    doc["products"][0]["by"] = doc["products"][1]["by"] = "dr.okafor"
    assert refused(tmp_path, doc) == (
        "entry 0: at: Record the initial inventory of Ketamine 50 mg/mL, 10 mL vial first (zero if nothing "
        "is on hand)."
    )
    assert book() == before == {**before, "registrations": 0, "products": 0, "entries": 0}


def test_one_lot_inventory_and_an_offset_time_and_a_second_dose_for_the_session(
    tmp_path, capsys, example, session
):
    doc = {
        "registration": example["registration"],
        "products": example["products"][:1],
        "entries": [
            {
                "kind": "inventory",
                "at": "2026-03-02T08:00",
                "product": "ketamine-50-10",
                "lot": "K2401",
                "mg": "750.5",
                "expiry": "2027-01-31",
                "by": "dr.okafor",
            },
            {
                # 15:00 UTC is 10:00 in Springfield on 10 March (daylight time).
                "kind": "administration",
                "at": "2026-03-10T15:00:00+00:00",
                "product": "ketamine-50-10",
                "lot": "K2401",
                "mg": 36.25,
                "patient_mrn": session.patient.mrn.lower(),
                "by": "nurse.lee",
            },
        ],
    }
    out = apply(tmp_path, doc, capsys)
    assert out["balances"] == [
        {"product": "ketamine-50-10", "lot": "K2401", "on_hand_mg": "714.25", "on_hand_ml": "14.29"}
    ]
    assert Entry.objects.get(kind="administration").session == session

    before = book()
    assert refused(tmp_path, {"entries": doc["entries"][1:]}) == (
        "entry 0: at: This session's administration is already on the ledger."
    )
    assert book() == before


def test_an_esketamine_lot_cannot_post_a_ketamine_session(tmp_path, example):
    doc = copy.deepcopy(example)
    doc["entries"][4].update(product="esketamine-28", lot="SP5521", mg=56)
    assert refused(tmp_path, doc) == "entry 4: lot: Lot SP5521 is esketamine; this session gave ketamine."
    assert book()["entries"] == 0


@pytest.mark.slow
def test_the_installed_command_exits_2_and_says_why_on_stderr(tmp_path: Path):
    exe = shutil.which("ketacare", path=str(Path(sys.executable).parent)) or "ketacare"
    env = {
        **os.environ,
        "KETACARE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    bad = write(tmp_path, "{not json")
    run = subprocess.run(  # noqa: S603 - our own executable, fixed arguments
        [exe, "ledger", "apply", str(bad)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 2
    assert f"{bad}: not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2" in (
        run.stderr
    )
    assert run.stdout == ""

"""A deterministic synthetic cohort: the same seed gives the same people, so benchmarks and demos
are repeatable. Nothing here is real patient data."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from faker import Faker

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.bulk import bulk_insert
from ketacare.patients.models import (
    Allergy,
    BodyMeasurement,
    Diagnosis,
    NamePart,
    Patient,
    ReferringProvider,
    Sex,
)
from ketacare.patients.names import later_part_keys, name_key
from ketacare.patients.services import PATIENT_FIELDS, mrn_allocate

BATCH = 5000

# Share of the cohort by primary diagnosis: a clinic mix weighted to depression, as ketamine
# clinics report; only the shape matters for a synthetic cohort.
PRIMARY_MIX = (
    ("F33.1", 0.22),
    ("F33.2", 0.22),
    ("F32.2", 0.10),
    ("F32.1", 0.06),
    ("F33.9", 0.05),
    ("F53.0", 0.08),
    ("F43.12", 0.10),
    ("F43.10", 0.04),
    ("F41.1", 0.13),
)
ALLERGENS = (
    ("Penicillin", "Rash"),
    ("Sulfonamides", "Hives"),
    ("Latex", "Contact dermatitis"),
    ("Codeine", "Nausea and vomiting"),
    ("Shellfish", "Swelling of lips"),
    ("Adhesive tape", "Skin irritation"),
)
SPECIALTIES = ("Family Medicine", "Psychiatry", "Primary Care", "Behavioral Health", "Women’s Health")
RELATIONSHIPS = ("Spouse", "Partner", "Parent", "Sibling", "Friend", "Adult child")


@dataclass(frozen=True)
class Pools:
    female: list[str]
    male: list[str]
    family: list[str]
    streets: list[str]
    cities: list[tuple[str, str, str]]
    phones: list[str]


def _pools(seed: int) -> Pools:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return Pools(
        female=[fake.first_name_female() for _ in range(600)],
        male=[fake.first_name_male() for _ in range(600)],
        family=[fake.last_name() for _ in range(1500)],
        streets=[fake.street_address() for _ in range(800)],
        cities=[
            (fake.city(), fake.state_abbr(include_territories=False), fake.zipcode()) for _ in range(300)
        ],
        phones=[f"({rnd:03d}) 555-{i:04d}" for i, rnd in enumerate(range(200, 999, 7))],
    )


def _providers(rng: random.Random, fake: Faker, count: int) -> list[ReferringProvider]:
    providers = []
    for _ in range(count):
        name = f"Dr. {fake.first_name()} {fake.last_name()}"
        practice = f"{fake.last_name()} {rng.choice(SPECIALTIES)}"
        providers.append(
            ReferringProvider(
                name=name,
                practice=practice,
                npi=f"{rng.randrange(10**9, 2 * 10**9)}",
                phone=f"(555) {rng.randrange(200, 999)}-{rng.randrange(0, 9999):04d}",
                fax=f"(555) {rng.randrange(200, 999)}-{rng.randrange(0, 9999):04d}",
                email=f"referrals@{practice.split()[0].lower()}-clinic.example",
                address=fake.address().replace("\n", ", "),
            )
        )
    return providers


def _weighted(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    roll, acc = rng.random(), 0.0
    for code, share in mix:
        acc += share
        if roll < acc:
            return code
    return mix[-1][0]


def seed_cohort(*, patients: int, seed: int, actor: Actor | None = None) -> int:
    """Create `patients` synthetic patients (with providers, diagnoses, measurements, allergies)
    in one transaction, with one audit event per record. Returns how many were made."""
    actor = actor or Actor.command("seed-demo")
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    pools = _pools(seed)
    today = timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        providers = ReferringProvider.objects.bulk_create(
            _providers(rng, fake, max(5, min(60, patients // 20 + 5)))
        )
        audit_record_many(
            actor=actor,
            specs=[EventSpec(Action.CREATE, "patients.referringprovider", str(p.pk)) for p in providers],
        )
        mrns = mrn_allocate(count=patients)
        made = 0
        for start in range(0, patients, BATCH):
            made += _seed_batch(rng, pools, providers, mrns[start : start + BATCH], today, now, actor)
    return made


# Registration's fields (patients.services.PATIENT_FIELDS), with the MRN, name keys and times
# the service sets; the rows below are built in this order.
PATIENT_COLUMNS = ("mrn", "given_name_key", "family_name_key", *PATIENT_FIELDS, "created_at", "updated_at")


def _seed_batch(
    rng: random.Random,
    pools: Pools,
    providers: list[ReferringProvider],
    mrns: list[str],
    today: datetime.date,
    now: datetime.datetime,
    actor: Actor,
) -> int:
    rows: list[tuple[object, ...]] = []
    plans: list[tuple[str, bool, Decimal, Decimal, int]] = []
    provider_ids = [p.pk for p in providers]
    everyone = pools.female + pools.male
    for mrn in mrns:
        primary = _weighted(rng, PRIMARY_MIX)
        sex = Sex.FEMALE if primary == "F53.0" or rng.random() < 0.58 else Sex.MALE
        given = rng.choice(pools.female if sex == Sex.FEMALE else pools.male)
        family = rng.choice(pools.family)
        # Adults at their consultation, which may be up to two years back: 21 and over today.
        age_years = rng.randint(21, 44) if primary == "F53.0" else rng.randint(21, 79)
        dob = today - datetime.timedelta(days=age_years * 365 + rng.randrange(0, 365))
        city, state, postcode = rng.choice(pools.cities)
        height = Decimal(f"{rng.gauss(163 if sex == Sex.FEMALE else 177, 7):.1f}")
        bmi = max(17.0, min(48.0, rng.gauss(28, 5.5)))
        weight = Decimal(f"{bmi * float(height / 100) ** 2:.1f}")
        nka = rng.random() < 0.7
        given_key, family_key = name_key(given), name_key(family)
        rows.append(
            (
                mrn,
                given_key,
                family_key,
                given,
                family,
                "",
                dob,
                sex.value,
                f"({rng.randrange(200, 999)}) 555-{rng.randrange(0, 9999):04d}",
                f"{given_key}.{family_key}{rng.randrange(1, 99)}@example.com",
                rng.choice(pools.streets),
                "",
                city,
                state,
                postcode,
                f"{rng.choice(everyone)} {family}",
                rng.choice(RELATIONSHIPS),
                f"({rng.randrange(200, 999)}) 555-{rng.randrange(0, 9999):04d}",
                rng.choice(provider_ids) if rng.random() < 0.85 else None,
                nka,
                now,
                now,
            )
        )
        plans.append((primary, nka, weight, height, rng.randrange(1, 400)))
    bulk_insert(Patient, PATIENT_COLUMNS, rows)
    ids = dict(Patient.objects.filter(mrn__gte=mrns[0], mrn__lte=mrns[-1]).values_list("mrn", "id"))
    diagnoses: list[tuple[object, ...]] = []
    measurements: list[tuple[object, ...]] = []
    allergies: list[tuple[object, ...]] = []
    for mrn, (primary, nka, weight, height, days_ago) in zip(mrns, plans, strict=True):
        pid = ids[mrn]
        diagnoses.append((pid, primary, True, now))
        if primary != "F41.1" and rng.random() < 0.35:
            diagnoses.append((pid, "F41.1", False, now))
        measurements.append((pid, now - datetime.timedelta(days=days_ago), weight, height))
        if not nka:
            substance, reaction = rng.choice(ALLERGENS)
            allergies.append((pid, substance, reaction, rng.choice(Allergy.Severity.values), now))
    family_at = PATIENT_COLUMNS.index("family_name")
    parts = [(ids[str(row[0])], key) for row in rows for key in later_part_keys(str(row[family_at]))]
    bulk_insert(NamePart, ("patient", "key"), parts)  # as registration writes them
    bulk_insert(Diagnosis, ("patient", "code", "is_primary", "recorded_at"), diagnoses)
    bulk_insert(BodyMeasurement, ("patient", "measured_at", "weight_kg", "height_cm"), measurements)
    bulk_insert(Allergy, ("patient", "substance", "reaction", "severity", "recorded_at"), allergies)
    audit_record_many(
        actor=actor,
        specs=[
            EventSpec(Action.CREATE, "patients.patient", str(ids[mrn]), ids[mrn], {"source": "seed-demo"})
            for mrn in mrns
        ],
    )
    return len(rows)

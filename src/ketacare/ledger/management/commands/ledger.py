"""`ketacare ledger`: bring a clinic's controlled-substance book onto the ledger from a file, and
print the balances. docs/ledger.md describes the file; every entry goes through the same service
as the ledger's pages, so the file can record nothing the pages would refuse."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.audit.context import Actor
from ketacare.clinical import ledger as rules
from ketacare.clinical.ledger import Form, Kind, LossType
from ketacare.clinical.mrn import normalise_mrn
from ketacare.ledger import services
from ketacare.ledger.models import Discrepancy, Entry, Lot, Product, Registration
from ketacare.patients.models import Patient
from ketacare.sessions.models import TreatmentSession

SYSTEM = "ketacare ledger apply"
FILE_KEYS = frozenset({"registration", "products", "entries"})
REGISTRATION_KEYS = frozenset({"name", "address", "dea_number", "by"})
PRODUCT_KEYS = frozenset(
    {
        "code",
        "substance",
        "form",
        "concentration_mg_per_ml",
        "container_ml",
        "mg_per_device",
        "devices_per_container",
        "beyond_use_days",
        "by",
    }
)
COMMON = frozenset({"kind", "at", "product", "by"})
FIELDS: dict[str, frozenset[str]] = {
    Kind.INVENTORY: COMMON | {"lots", "lot", "mg", "expiry", "business"},
    Kind.RECEIPT: COMMON
    | {"lot", "expiry", "containers", "supplier_name", "supplier_address", "supplier_dea", "invoice"},
    Kind.ADMINISTRATION: COMMON | {"lot", "mg", "patient_mrn"},
    Kind.WASTE: COMMON | {"lot", "mg", "manner", "reason", "witness"},
    Kind.COUNT: COMMON | {"lot", "counted_mg", "witness"},
    Kind.LOSS: COMMON | {"lot", "mg", "reason", "loss_type", "police_report"},
}
LINE_KEYS = frozenset({"lot", "mg", "expiry"})
MAX_MG = Decimal(10) ** 9  # what a ledger column holds (14 digits, 4 after the point), with room
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
T = TypeVar("T")


class Refused(Exception):
    """The file is refused: where (`entry 3`, `product ketamine-50`, `registration`) and why."""


class FieldProblem(Exception):
    """What is wrong with one field of the file."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name, self.message = name, message


def _messages(exc: ValidationError) -> str:
    """A service's refusal in one line, each message after the field it is about."""
    if hasattr(exc, "error_dict"):
        return "; ".join(
            message if name == NON_FIELD_ERRORS else f"{name}: {message}"
            for name, messages in exc.message_dict.items()
            for message in messages
        )
    return "; ".join(exc.messages)


def _mg_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


# Reading the file's fields: each names the field it refuses.


def _shown(value: Any) -> str:
    """A value as the file wrote it (a JSON number was read as a Decimal)."""
    return str(value) if isinstance(value, Decimal) else json.dumps(value)


def _present(raw: Mapping[str, Any], name: str) -> Any:
    if raw.get(name) is None:
        raise FieldProblem(name, "missing")
    return raw[name]


def _text(raw: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    if not required and raw.get(name) is None:
        return ""
    value = _present(raw, name)
    if not isinstance(value, str):
        raise FieldProblem(name, "give it as text")
    if required and not value.strip():
        raise FieldProblem(name, "missing")
    return value.strip()


def _number(raw: Mapping[str, Any], name: str) -> Decimal:
    value = _present(raw, name)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise FieldProblem(name, f"{_shown(value)} is not a number")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise FieldProblem(name, f"{_shown(value)} is not a number") from None
    if not number.is_finite() or abs(number) >= MAX_MG:
        raise FieldProblem(name, f"{value} is not a quantity the ledger can hold")
    return number


def _whole(raw: Mapping[str, Any], name: str) -> int:
    value = _present(raw, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldProblem(name, f"{_shown(value)} is not a whole number")
    return value


def _optional_number(raw: Mapping[str, Any], name: str) -> Decimal | None:
    return _optional(_number, raw, name)


def _date(raw: Mapping[str, Any], name: str) -> datetime.date:
    value = _present(raw, name)
    try:
        if not isinstance(value, str) or not _DATE.match(value.strip()):
            raise ValueError(value)
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise FieldProblem(name, f"{_shown(value)} is not a date (YYYY-MM-DD)") from None


def _optional(read: Callable[[Mapping[str, Any], str], T], raw: Mapping[str, Any], name: str) -> T | None:
    return None if raw.get(name) is None else read(raw, name)


def _at(raw: Mapping[str, Any], name: str = "at") -> datetime.datetime:
    """ISO 8601: with an offset, or the clinic's local time without one."""
    value = _present(raw, name)
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        when = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldProblem(
            name, f"{_shown(value)} is not a date and time (such as 2026-03-01T09:00)"
        ) from None
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when


def _object(value: Any, what: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    """A JSON object with no field but those allowed (a misspelt field is refused, not ignored)."""
    if not isinstance(value, dict):
        raise Refused(f"{what} is a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise FieldProblem(unknown[0], f"not a field of {what}")
    return value


@dataclass
class _Run:
    """One application of a file: its products, the people, and which entry of the
    file made each ledger entry (for the discrepancies it opened)."""

    products: dict[str, Product] = field(default_factory=dict)
    users: dict[str, User | None] = field(default_factory=dict)
    made: dict[int, int] = field(default_factory=dict)  # ledger entry id -> index in the file

    def user(self, raw: Mapping[str, Any], name: str) -> User:
        username = _text(raw, name)
        if username not in self.users:
            self.users[username] = User.objects.filter(username=username).first()
        user = self.users[username]
        if user is None:
            raise FieldProblem(name, f"no user named {username!r}")
        return user

    def recorder(self, raw: Mapping[str, Any]) -> User:
        user = self.user(raw, "by")
        if not user.is_active:
            raise FieldProblem("by", f"{user.username} is not an active user")
        if not user.has_perm(services.RECORD_PERMISSION):
            raise FieldProblem(
                "by", f"{user.username} may not record ledger entries (nurses and physicians do)"
            )
        return user

    def product(self, raw: Mapping[str, Any]) -> Product:
        code = _text(raw, "product")
        if code not in self.products:
            found = Product.objects.filter(code=code).first()
            if found is None:
                raise FieldProblem("product", f"no product {code!r}: add it to the file's products")
            self.products[code] = found
        return self.products[code]

    def lot(self, raw: Mapping[str, Any], registration: Registration, product: Product) -> Lot:
        number = _text(raw, "lot")
        found = Lot.objects.filter(registration=registration, product=product, number=number).first()
        if found is None:
            raise FieldProblem(
                "lot",
                f"lot {number} of {product.code} is not on the ledger: receive it or inventory it first",
            )
        return found


def _setup_actor(run: _Run, raw: Mapping[str, Any], first_entry: Any) -> Actor:
    """Who sets up a location or a product: its own `by`, or the `by` of the file's first entry."""
    own = raw.get("by") is not None
    source = raw if own else first_entry
    if not isinstance(source, dict) or source.get("by") is None:
        raise FieldProblem("by", "name the physician or clinic admin who sets it up")
    user = run.user(source, "by")
    if not user.is_active or not user.has_perm(services.SETUP_PERMISSION):
        whose = "" if own else " (the first entry's by)"
        raise FieldProblem(
            "by", f"{user.username}{whose} may not set up the ledger: name a physician or the clinic admin"
        )
    return Actor(user=user, system=SYSTEM)


def _registration(run: _Run, doc: Mapping[str, Any], first_entry: Any) -> Registration:
    raw = doc.get("registration")
    if raw is None:
        existing = list(Registration.objects.all()[:2])
        if len(existing) == 1:
            return existing[0]
        if not existing:
            raise Refused(
                'no location is registered yet: give the file a "registration" with its name, address '
                "and dea_number"
            )
        raise Refused(
            'more than one location is registered: give the file a "registration" with the dea_number '
            "of the one to use"
        )
    raw = _object(raw, "a registration", REGISTRATION_KEYS)
    number = _text(raw, "dea_number").upper()
    found = Registration.objects.filter(dea_number=number).first()
    if found is not None:
        return found
    return services.registration_create(
        actor=_setup_actor(run, raw, first_entry),
        name=_text(raw, "name"),
        address=_text(raw, "address"),
        dea_number=number,
    )


def _product(run: _Run, raw: Mapping[str, Any], first_entry: Any) -> Product:
    code = _text(raw, "code")
    form = _text(raw, "form")
    injection = form == Form.INJECTION
    units: dict[str, Any] = {
        "substance": _text(raw, "substance"),
        "form": form,
        "concentration_mg_per_ml": (_number if injection else _optional_number)(
            raw, "concentration_mg_per_ml"
        ),
        "container_ml": (_number if injection else _optional_number)(raw, "container_ml"),
        "mg_per_device": _optional(_number, raw, "mg_per_device"),
        "devices_per_container": _whole(raw, "devices_per_container")
        if form == Form.NASAL_SPRAY
        else _optional(_whole, raw, "devices_per_container"),
    }
    if form == Form.NASAL_SPRAY and units["mg_per_device"] is None:
        units["mg_per_device"] = rules.ESKETAMINE_MG_PER_DEVICE
    beyond_use_days = _optional(_whole, raw, "beyond_use_days")
    existing = Product.objects.filter(code=code).first()
    if existing is None:
        return services.product_create(
            actor=_setup_actor(run, raw, first_entry), code=code, beyond_use_days=beyond_use_days, **units
        )
    compared = dict(units)
    if beyond_use_days is not None:
        compared["beyond_use_days"] = beyond_use_days
    for name, value in compared.items():
        stored = getattr(existing, name)
        if stored != value:
            shown = "none" if stored is None else _mg_text(stored) if isinstance(stored, Decimal) else stored
            raise FieldProblem(
                name, f"the product on the ledger has {shown}, not {value}: give it another code"
            )
    return existing


def _inventory_lines(raw: Mapping[str, Any]) -> list[services.InventoryLine]:
    def line(item: Mapping[str, Any]) -> services.InventoryLine:
        mg = _number(item, "mg")
        return services.InventoryLine(
            lot_number=_text(item, "lot"), mg=mg, expiry=_optional(_date, item, "expiry")
        )

    if raw.get("lots") is not None:
        if any(raw.get(k) is not None for k in LINE_KEYS):
            raise FieldProblem("lots", "give either lots, or one lot with its mg, not both")
        if not isinstance(raw["lots"], list) or not raw["lots"]:
            raise FieldProblem("lots", 'a list of {"lot", "mg", "expiry"}')
        lines = []
        for n, item in enumerate(raw["lots"]):
            if not isinstance(item, dict):
                raise FieldProblem(f"lots[{n}]", 'a line is a JSON object {"lot", "mg", "expiry"}')
            try:
                lines.append(line(_object(item, "an inventory line", LINE_KEYS)))
            except FieldProblem as exc:
                raise FieldProblem(f"lots[{n}].{exc.name}", exc.message) from None
        return lines
    if raw.get("lot") is not None:
        return [line(raw)]
    mg = _number(raw, "mg")
    if mg != 0:
        raise FieldProblem(
            "lot", f"name the lot of the {raw['mg']} mg on hand (mg 0 with no lot: nothing on hand)"
        )
    if raw.get("expiry") is not None:
        raise FieldProblem("expiry", "an expiry belongs to a lot")
    return []


def _patient_session(raw: Mapping[str, Any], at: datetime.datetime) -> TreatmentSession:
    mrn = normalise_mrn(_text(raw, "patient_mrn"))
    patient = Patient.objects.filter(mrn=mrn).first()
    if patient is None:
        raise FieldProblem("patient_mrn", f"no patient with MRN {mrn}")
    minute = at.replace(second=0, microsecond=0)
    sessions = list(
        TreatmentSession.objects.filter(
            patient=patient,
            dose_started_at__gte=minute,
            dose_started_at__lt=minute + datetime.timedelta(minutes=1),
        )[:2]
    )
    when = f"{timezone.localtime(minute):%Y-%m-%d %H:%M}"
    if not sessions:
        raise FieldProblem("at", f"no session of patient {mrn} started at {when}")
    if len(sessions) > 1:
        raise FieldProblem("at", f"patient {mrn} has more than one session started at {when}")
    return sessions[0]


def _apply_entry(run: _Run, registration: Registration, raw: Any) -> list[Entry]:
    if not isinstance(raw, dict):
        raise Refused('an entry is a JSON object {"kind", "at", "product", "by", ...}')
    kind = _text(raw, "kind")
    if kind not in FIELDS:
        raise FieldProblem("kind", f"{kind!r} is not one of {', '.join(FIELDS)}")
    _object(raw, f"a {kind} entry", FIELDS[kind])
    at = _at(raw)
    product = run.product(raw)
    actor = Actor(user=run.recorder(raw), system=SYSTEM)
    if kind == Kind.INVENTORY:
        lines = _inventory_lines(raw)
        business = _text(raw, "business", required=False) or Entry.Business.OPENING
        return services.inventory_record(
            actor=actor, registration=registration, product=product, lines=lines, business=business, at=at
        )
    if kind == Kind.RECEIPT:
        expiry = _date(raw, "expiry")
        containers = _whole(raw, "containers")
        return [
            services.receipt_record(
                actor=actor,
                registration=registration,
                product=product,
                lot_number=_text(raw, "lot"),
                expiry=expiry,
                containers=containers,
                supplier_name=_text(raw, "supplier_name"),
                supplier_address=_text(raw, "supplier_address"),
                supplier_dea=_text(raw, "supplier_dea"),
                invoice=_text(raw, "invoice", required=False),
                at=at,
            )
        ]
    lot = run.lot(raw, registration, product)
    if kind == Kind.ADMINISTRATION:
        session = _patient_session(raw, at)
        mg = _number(raw, "mg")
        return [services.history_administration_post(actor=actor, session=session, lot=lot, mg=mg, at=at)]
    if kind == Kind.WASTE:
        mg = _number(raw, "mg")
        return [
            services.waste_record(
                actor=actor,
                lot=lot,
                mg=mg,
                manner=_text(raw, "manner"),
                reason=_text(raw, "reason"),
                witness=run.user(raw, "witness"),
                at=at,
            )
        ]
    if kind == Kind.COUNT:
        counted = _number(raw, "counted_mg")
        return [
            services.count_record(
                actor=actor, lot=lot, counted_mg=counted, witness=run.user(raw, "witness"), at=at
            )
        ]
    mg = _number(raw, "mg")
    police = _text(raw, "police_report", required=False)
    return [
        services.loss_record(
            actor=actor,
            lot=lot,
            mg=mg,
            reason=_text(raw, "reason"),
            at=at,
            loss_type=_text(raw, "loss_type", required=False) or LossType.OTHER,
            police_notified=bool(police),
            police_report=police,
        )
    ]


def _apply(doc: Any) -> tuple[Registration, dict[int, int]]:
    """Every entry of the file, in order, in one transaction: the first refusal undoes them all."""
    if not isinstance(doc, dict):
        raise Refused('file: the file is a JSON object {"products": [...], "entries": [...]}')
    unknown = sorted(set(doc) - FILE_KEYS)
    if unknown:
        raise Refused(f"file: {unknown[0]}: not a field of the file (registration, products, entries)")
    products, entries = doc.get("products", []), doc.get("entries")
    if not isinstance(entries, list):
        raise Refused("file: entries: missing (a list of entries)")
    if not isinstance(products, list):
        raise Refused("file: products: a list of products")
    first_entry = entries[0] if entries else None
    run = _Run()
    with transaction.atomic():
        try:
            registration = _registration(run, doc, first_entry)
        except (FieldProblem, ValidationError, Refused) as exc:
            raise Refused(f"registration: {_reason(exc)}") from None
        for n, raw in enumerate(products):
            code = raw.get("code") if isinstance(raw, dict) else None
            name = f"product {code}" if isinstance(code, str) and code.strip() else f"product {n}"
            try:
                product = _product(run, _object(raw, "a product", PRODUCT_KEYS), first_entry)
            except (FieldProblem, ValidationError, Refused) as exc:
                raise Refused(f"{name}: {_reason(exc)}") from None
            run.products[product.code] = product
        for i, raw in enumerate(entries):
            try:
                made = _apply_entry(run, registration, raw)
            except (FieldProblem, ValidationError, Refused) as exc:
                raise Refused(f"entry {i}: {_reason(exc)}") from None
            except IntegrityError as exc:
                raise Refused(f"entry {i}: the database refused it ({exc})") from None
            run.made.update({entry.pk: i for entry in made})
    return registration, run.made


def _ml_text(lot: Lot) -> str | None:
    """The volume of a solution's balance, to the syringe's 0.01 mL; None for devices."""
    ml = rules.ml_of(lot.on_hand_mg, lot.product.concentration_mg_per_ml)
    return None if ml is None else str(ml)


def _reason(exc: Exception) -> str:
    return _messages(exc) if isinstance(exc, ValidationError) else str(exc)


def report(registration: Registration | None, made: Mapping[int, int] | None = None) -> dict[str, Any]:
    """The balances of a location's lots (every lot with stock or an entry) and its open
    discrepancies; `made` names the file's entry that opened each, for an apply."""
    if registration is None:
        return {"balances": [], "discrepancies": []}
    made = made or {}
    lots = (
        Lot.objects.filter(registration=registration)
        .annotate(has_entry=Exists(Entry.objects.filter(lot=OuterRef("pk"))))
        .select_related("product")
        .order_by("product__code", "number")
    )
    balances = [
        {
            "product": lot.product.code,
            "lot": lot.number,
            "on_hand_mg": _mg_text(lot.on_hand_mg),
            "on_hand_ml": _ml_text(lot),
        }
        for lot in lots
        if lot.on_hand_mg > 0 or lot.has_entry
    ]
    discrepancies = [
        {
            "product": d.lot.product.code,
            "lot": d.lot.number,
            "book_mg": _mg_text(d.book_mg),
            "counted_mg": _mg_text(d.counted_mg),
            "entry": made.get(d.entry_id),
        }
        for d in Discrepancy.objects.filter(lot__registration=registration, resolved_at__isnull=True)
        .select_related("lot__product")
        .order_by("lot__product__code", "lot__number", "id")
    ]
    return {"balances": balances, "discrepancies": discrepancies}


class Command(BaseCommand):
    help = (
        "The controlled-substance ledger from the command line. `apply FILE.json` records a file's "
        "entries (inventories, receipts, administrations, waste, counts, losses) in order, all or "
        "nothing, and prints the balances and open discrepancies as JSON; a refused entry exits 2 "
        "naming it and why. `balance --json` prints the balances. See docs/ledger.md."
    )

    # The checks would load every URL and view for a command that needs none of them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        actions = parser.add_subparsers(dest="action", required=True, metavar="{apply,balance}")
        apply = actions.add_parser("apply", help="record a file of entries, all or nothing")
        apply.add_argument("file", type=Path, help="the entries, as JSON (docs/ledger.md)")
        balance = actions.add_parser("balance", help="print the balances and open discrepancies")
        balance.add_argument("--json", action="store_true", help="print JSON (the only format)")
        balance.add_argument("--dea", default="", help="the location's DEA number (when there are several)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if opts["action"] == "apply":
            out = report(*self._apply(opts["file"]))
        else:
            out = report(self._location(opts["dea"]))
        self.stdout.write(json.dumps(out, indent=2))

    def _apply(self, path: Path) -> tuple[Registration, dict[int, int]]:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read ({exc.strerror})", returncode=2) from None
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text", returncode=2) from None
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", returncode=2
            ) from None
        try:
            return _apply(doc)
        except Refused as exc:
            raise CommandError(str(exc), returncode=2) from None

    def _location(self, dea: str) -> Registration | None:
        if dea:
            found = Registration.objects.filter(dea_number=dea.strip().upper()).first()
            if found is None:
                raise CommandError(f"--dea: no location is registered with DEA number {dea}", returncode=2)
            return found
        registrations = list(Registration.objects.order_by("dea_number"))
        if len(registrations) > 1:
            numbers = ", ".join(r.dea_number for r in registrations)
            raise CommandError(f"--dea: name the location ({numbers})", returncode=2)
        return registrations[0] if registrations else None

"""`ketacare fhir-export`: every patient's record as FHIR Bulk Data NDJSON, one file per resource
type (Patient.ndjson, Observation.ndjson, ...), one resource a line.

Streaming: patients are read a batch at a time (`records_of`, eight queries a batch) and each
resource is written as it is made, so memory stays flat however many patients the clinic has.
Each file is written under a temporary name and renamed once the export is complete: a failed
export never leaves files that look whole.
"""

from __future__ import annotations

import contextlib
import datetime
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson
from django.db import connection

from ketacare.interop.fhir import questionnaire_resource, records_of, resources_of
from ketacare.patients.models import Patient

BATCH_PATIENTS = 500
# The base of the canonical URLs written in an export made outside a web request (the
# Questionnaires' `url`, each QuestionnaireResponse's `questionnaire`), unless given.
DEFAULT_BASE = "urn:ketacare:fhir:"


@dataclass
class Exported:
    patient_ids: list[int] = field(default_factory=list)
    resources: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.resources.items()))
        return f"Exported {len(self.patient_ids)} patient(s): {kinds or 'nothing'}."


def _batches(since: datetime.datetime | None) -> Iterator[list[int]]:
    ids = Patient.objects.order_by("id").values_list("id", flat=True)
    batch: list[int] = []
    for pid in ids.iterator(chunk_size=BATCH_PATIENTS):
        batch.append(pid)
        if len(batch) == BATCH_PATIENTS:
            yield batch
            batch = []
    if batch:
        yield batch


# SQLite's page cache for the export, in KiB (the connection's usual one is 64 MiB): each batch is
# read once, so a large cache holds nothing read again and only adds to the process's memory.
EXPORT_PAGE_CACHE_KIB = 8192


@contextlib.contextmanager
def _small_page_cache() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (usual,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size=-{EXPORT_PAGE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size={int(usual)}")


def fhir_export(out: Path, *, since: datetime.datetime | None = None, base: str = DEFAULT_BASE) -> Exported:
    """Write the NDJSON files into `out` (made if missing; files of the same names replaced).
    `since`: only what was recorded or changed from then (FHIR Bulk Data `_since`); a patient
    appears when changed then or when any of their resources does."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, IO[bytes]] = {}
    exported = Exported()
    scales: set[str] = set()

    def write(resource: dict[str, object]) -> None:
        kind = str(resource["resourceType"])
        if kind not in files:
            files[kind] = (out / f"{kind}.ndjson.part").open("wb")
        files[kind].write(orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE))
        exported.resources[kind] += 1

    try:
        with _small_page_cache():
            for batch in _batches(since):
                for record in records_of(batch, since):
                    resources = list(resources_of(record, base, questionnaires=False))
                    changed = since is None or record.patient.updated_at >= since
                    if not changed and len(resources) == 1:
                        continue  # nothing of this patient's since then
                    exported.patient_ids.append(record.patient.pk)
                    scales.update(r.instrument for r in record.responses)
                    for resource in resources:
                        write(resource)
        for code in sorted(scales):
            write(questionnaire_resource(code, base))
    except BaseException:
        for kind, handle in files.items():
            handle.close()
            (out / f"{kind}.ndjson.part").unlink(missing_ok=True)
        raise
    for kind, handle in files.items():
        handle.close()
        (out / f"{kind}.ndjson.part").replace(out / f"{kind}.ndjson")
    return exported

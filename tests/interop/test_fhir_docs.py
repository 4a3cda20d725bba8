"""docs/fhir.md's worked example, run as written: each `$ ketacare ...` line and the line it
prints."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = re.compile(r"^\$ ketacare (?P<command>.+)\n(?P<output>[^\n$`][^\n]*)$", re.MULTILINE)


def test_the_worked_example_prints_what_the_docs_say(db, monkeypatch):
    monkeypatch.chdir(ROOT)
    examples = EXAMPLE.findall((ROOT / "docs" / "fhir.md").read_text(encoding="utf-8"))
    assert len(examples) == 2
    for command, expected in examples:
        name, *args = shlex.split(command)
        out = io.StringIO()
        call_command(name.replace("-", "_"), *args, stdout=out)
        assert out.getvalue().strip() == expected


@pytest.mark.parametrize("name", ["fhir-import-bundle.json"])
def test_the_example_bundle_is_valid_fhir(name):
    import json

    from fhir.resources.R4B import get_fhir_model_class

    bundle = json.loads((ROOT / "docs" / "examples" / name).read_text(encoding="utf-8"))
    get_fhir_model_class("Bundle").model_validate(bundle)

"""docs/api.md's worked example, run as written: each `$ curl ...` command against a fresh clinic,
its answer checked against the status and the JSON shown below it."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from ketacare.accounts.roles import Role
from ketacare.audit.selectors import disclosures

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
EXAMPLE = re.compile(r"^\$ (?P<command>curl .+)\nHTTP (?P<status>\d{3})\n(?P<body>\{.*\})$", re.MULTILINE)
ANY = "…"


def _holds(shown: Any, actual: Any, where: str = "") -> None:
    """The answer holds what the docs show: every key shown, with its value (`…` for any)."""
    if shown == ANY:
        return
    if isinstance(shown, dict):
        assert isinstance(actual, dict), where
        for key, value in shown.items():
            assert key in actual, f"{where}.{key} missing"
            _holds(value, actual[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(actual, list) and len(actual) == len(shown), f"{where}: {actual!r}"
        for n, (s, a) in enumerate(zip(shown, actual, strict=True)):
            _holds(s, a, f"{where}[{n}]")
    else:
        assert shown == actual, f"{where}: docs say {shown!r}, the API said {actual!r}"


def _call(command: str) -> tuple[int, Any]:
    words = shlex.split(command)[1:]
    method, headers, body, url = "GET", {}, "", ""
    while words:
        word = words.pop(0)
        if word == "-s":
            continue
        if word == "-X":
            method = words.pop(0)
        elif word == "-H":
            name, _, value = words.pop(0).partition(": ")
            headers[name] = value
        elif word == "-d":
            body = words.pop(0)
        else:
            url = word
    path = url.removeprefix("http://testserver")
    extra = {"HTTP_AUTHORIZATION": headers["Authorization"]} if "Authorization" in headers else {}
    response = Client().generic(
        method, path, body, content_type=headers.get("Content-Type", "application/octet-stream"), **extra
    )
    return response.status_code, response.json()


def test_the_worked_example_answers_what_the_docs_say(make_token, patient):
    _, token = make_token(role=Role.NURSE, scope="read_write", system="prom-app")
    _, read_token = make_token(role=Role.NURSE, scope="read", system="registry")
    values = {
        "KETACARE": "http://testserver",
        "TOKEN": token,
        "READ_TOKEN": read_token,
        "PATIENT": str(patient.pk),
    }
    examples = EXAMPLE.findall(DOC.read_text(encoding="utf-8"))
    assert len(examples) == 6
    for command, status, shown in examples:
        for name in sorted(values, key=len, reverse=True):  # $READ_TOKEN before $TOKEN
            command = command.replace(f"${name}", values[name])
        got_status, answer = _call(command)
        assert got_status == int(status), (command, answer)
        _holds(json.loads(shown), answer, command[:60])
    assert sorted(d.to for d in disclosures(patient.pk)) == ["prom-app", "prom-app", "registry"]

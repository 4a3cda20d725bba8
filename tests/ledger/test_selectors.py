"""Ledger reads that need no database: the export's local times and quantities."""

from __future__ import annotations

import csv
import datetime
import io
import random
import sqlite3
import zoneinfo
from decimal import Decimal

import pytest

from ketacare.clinical import ledger as rules
from ketacare.ledger.selectors import LocalTimes, csv_field, mg_text

UTC = datetime.UTC


@pytest.mark.parametrize(
    ("zone", "around"),
    [
        ("America/New_York", datetime.datetime(2025, 3, 9, 7, tzinfo=UTC)),  # spring forward, on the UTC hour
        ("America/New_York", datetime.datetime(2025, 11, 2, 6, tzinfo=UTC)),  # fall back: 1 a.m. twice
        (
            "Australia/Lord_Howe",
            datetime.datetime(2025, 10, 4, 15, 30, tzinfo=UTC),
        ),  # +10:30 to +11, mid-hour
        ("Asia/Kolkata", datetime.datetime(2025, 6, 1, 12, tzinfo=UTC)),  # +05:30 all year
        ("Asia/Kathmandu", datetime.datetime(2025, 6, 1, 12, tzinfo=UTC)),  # +05:45
        ("UTC", datetime.datetime(2025, 12, 31, 23, tzinfo=UTC)),  # into the new year
        ("Pacific/Kiritimati", datetime.datetime(2025, 12, 31, 9, tzinfo=UTC)),  # +14: the next day
    ],
)
def test_export_times_read_as_the_clinic_zone_every_minute_across_a_clock_change(zone, around):
    tz = zoneinfo.ZoneInfo(zone)
    local = LocalTimes(tz)
    for minute in range(-150, 150):
        instant = around + datetime.timedelta(minutes=minute, seconds=17, microseconds=900_000)
        expected = instant.astimezone(tz).isoformat(timespec="seconds")
        text = instant.replace(tzinfo=None).isoformat(" ")
        assert local(text) == expected, text  # SQLite's text
        assert local(f"{text}+00") == expected, text  # PostgreSQL's
        whole = text[:19]
        assert local(whole) == expected, whole  # no fraction of a second


def test_export_quantities_lose_their_trailing_zeros_only():
    """PostgreSQL writes a quantity to the column's four places, SQLite as short as it goes: each
    reads as `rules.mg(...).normalize()` writes it."""
    rng = random.Random(1304)
    tenths_of_micrograms = [0, 1, 5, 10, 10_000, 100_000, 123_456, 9_876_544, 10**10, 10**12 - 1]
    tenths_of_micrograms += [rng.randrange(10**12) for _ in range(5000)]
    for n in tenths_of_micrograms:
        for signed in (n, -n):
            exact = (Decimal(signed) / 10_000).quantize(rules.MG_PLACES)
            expected = f"{exact.normalize():f}"
            assert mg_text(str(exact)) == expected, exact  # PostgreSQL's "950.0000"
            assert mg_text(expected) == expected, expected  # SQLite's "950"
    assert mg_text(None) == ""


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain",
        "a, b",
        'say "when"',
        "two\nlines",
        "cr\rhere",
        "\r\n",
        '"',
        ",",
        " spaced ",
        "O'Neil",
        "é ü",
    ],
)
def test_a_csv_field_is_quoted_as_the_csv_module_quotes_it(text):
    written = io.StringIO()
    csv.writer(written).writerow(["x", text, "y"])
    assert f"x,{csv_field(text)},y\r\n" == written.getvalue()


def test_sqlite_writes_a_stored_quantity_back_as_its_own_digits():
    """The export reads SQLite's text of a stored quantity (`CAST(quantity_mg AS TEXT)`); SQLite keeps
    a decimal column's value as a float or an integer, and its text must give back the digits
    stored, for every quantity a ledger can hold."""
    rng = random.Random(1304)
    stored = [
        (Decimal(rng.randrange(-(10**12), 10**12)) / 10_000).quantize(rules.MG_PLACES) for _ in range(20_000)
    ]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, q decimal)")
    db.executemany("INSERT INTO t (q) VALUES (?)", [(str(q),) for q in stored])
    texts = [t for (t,) in db.execute("SELECT CAST(q AS TEXT) FROM t ORDER BY n")]
    assert [mg_text(t) for t in texts] == [f"{q.normalize():f}" for q in stored]

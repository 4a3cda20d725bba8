"""ketacare.keyfiles: the demo's keys made once, whoever starts first."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor

from ketacare.keyfiles import read_or_create


def test_a_key_is_made_once_kept_private_and_read_back(tmp_path):
    path = tmp_path / "var" / "audit_key"
    assert read_or_create(path, lambda: "first-key") == "first-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create(path, lambda: "second-key") == "first-key"
    assert os.listdir(path.parent) == ["audit_key"]  # no draft left behind


def test_the_process_that_loses_the_race_takes_the_winners_key(tmp_path):
    # Another process writes its key after this one found no file and before it links its own.
    path = tmp_path / "secret_key"

    def make_while_another_process_wins() -> str:
        path.write_text("the winner's key\n")
        return "the loser's key"

    assert read_or_create(path, make_while_another_process_wins) == "the winner's key"
    assert path.read_text() == "the winner's key\n"
    assert os.listdir(tmp_path) == ["secret_key"]


def test_workers_starting_together_all_get_one_key(tmp_path):
    path = tmp_path / "audit_key"
    made = iter(range(1000))
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: read_or_create(path, lambda: f"key-{next(made)}"), range(64)))
    assert keys == {path.read_text()}

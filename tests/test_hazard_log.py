"""Every test the hazard log names exists: a control whose test was renamed or removed is no
longer shown to work (docs/safety/hazard-log.md)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "docs" / "safety" / "hazard-log.md"


def _references() -> list[tuple[str, str, tuple[str, ...]]]:
    """(hazard id, file, names inside it) for every test the log cites. `::name` continues the
    file cited before it in the same cell."""
    refs = []
    for line in LOG.read_text().splitlines():
        row = re.match(r"\| (H-\d{3}) \|", line)
        if not row:
            continue
        shown_by = line.rstrip().rstrip("|").rsplit("|", 1)[-1]
        current = ""
        for ref in re.findall(r"`([^`]+)`", shown_by):
            if ref.startswith("tests/"):
                current, _, names = ref.partition("::")
            elif ref.startswith("::") and current:
                names = ref[2:]
            else:
                continue
            refs.append((row[1], current, tuple(n for n in names.split("::") if n)))
    return refs


def _defines(tree: ast.AST, names: tuple[str, ...]) -> bool:
    scope = list(ast.iter_child_nodes(tree))
    for name in names:
        found = [
            node for node in scope if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name
        ]
        if not found:
            return False
        scope = list(ast.iter_child_nodes(found[0]))
    return True


def test_the_log_cites_tests_for_every_hazard() -> None:
    refs = _references()
    hazards = set(re.findall(r"^\| (H-\d{3}) \|", LOG.read_text(), flags=re.M))
    assert len(hazards) >= 36
    assert hazards == {h for h, _, _ in refs}, "every hazard names at least one test"


def test_every_cited_test_exists() -> None:
    missing = []
    for hazard, path, names in _references():
        file = ROOT / path
        if not file.exists():
            missing.append(f"{hazard}: {path}")
        elif names and not _defines(ast.parse(file.read_text()), names):
            missing.append(f"{hazard}: {path}::{'::'.join(names)}")
    assert missing == []

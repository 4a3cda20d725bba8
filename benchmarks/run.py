"""`make bench`: the speed and memory figures, with the data sizes they were measured on.

Each suite runs in a fresh process against a fresh SQLite file and a fresh PostgreSQL 15 (started
by scripts/postgres.sh). Prints a table, writes var/bench/results.json, and exits non-zero when a
page misses its target. BENCH_SUITES=web_pages limits the suites; BENCH_PATIENTS, BENCH_RESPONSES
BENCH_TREATED_PATIENTS, BENCH_LEDGER_ENTRIES and BENCH_REQUESTS shrink the data for a quick look.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(os.environ.get("KETACARE_VAR_DIR", ROOT / "var")) / "bench"
PATIENTS = os.environ.get("BENCH_PATIENTS", "100000")
RESPONSES = os.environ.get("BENCH_RESPONSES", "2000000")
REQUESTS = os.environ.get("BENCH_REQUESTS", "200")
TREATED = os.environ.get("BENCH_TREATED_PATIENTS", "5000")
OUTCOME_REQUESTS = os.environ.get("BENCH_OUTCOME_REQUESTS", "20")
LEDGER_ENTRIES = os.environ.get("BENCH_LEDGER_ENTRIES", "1000000")
SUITES: dict[str, tuple[list[str], dict[str, int | tuple[str, int]]]] = {
    # suite: (arguments, {page: target p95 in ms, or (measure, target) such as ("median_ms", 1000)})
    "web_pages": ([f"--patients={PATIENTS}"], {"search": 50, "list_unfiltered": 50, "chart": 50}),
    "measures_pages": ([f"--responses={RESPONSES}"], {"chart_500_responses": 100, "dashboard": 50}),
    "session_pages": (
        [f"--patients={TREATED}"],
        {
            "session_full_flowsheet": 50,
            "session_signed": 50,
            "calendar_week_50_chairs": 100,
            "calendar_day_by_staff": 100,
            # Issue 19: the Today board's fragment (polled every 15 s by each open board), 50
            # chairs, four patients in them: as the calendar, 100 ms.
            "today_board": 100,
        },
    ),
    "outcome_pages": (
        [f"--patients={PATIENTS}", f"--requests={OUTCOME_REQUESTS}"],
        # Issue 13: the dashboard under 1 s median warm; catching up 1,000 changed patients under 1 s.
        {
            "dashboard": ("median_ms", 1000),
            "dashboard_filtered": ("median_ms", 1000),
            "outcomes_json": 2000,
            "catch_up_1000_patients": ("median_ms", 1000),
        },
    ),
    # Issue 17: a patient's whole record as FHIR ($everything) with 500 responses under 200 ms.
    "fhir_export": ([f"--patients={PATIENTS}"], {"everything_500_responses": 200}),
    # Issue 19: signing in (the password, then the authenticator's code) under 300 ms of server time.
    "sign_in": ([], {"sign_in_total": 300, "password_step": 300, "code_step": 300}),
    # The controlled-substance ledger with 1,000,000 entries: the stock page and a 200,000-entry
    # lot's history (its newest page and one from the middle) under 50 ms.
    "ledger_pages": (
        [f"--entries={LEDGER_ENTRIES}"],
        {"stock": 50, "lot_history": 50, "lot_history_before": 50},
    ),
}
# Single figures with their ceilings (issue 13): the first dashboard request in a new server
# process, `ketacare outcomes --json` as a fresh process, a full rebuild, a score save's queries.
SCALAR_TARGETS = {
    "outcome_pages": {
        "dashboard_first_request_new_process_ms": 2000,
        "outcomes_json_process_ms": 3000,
        "refresh_all_seconds": 10,
        "score_save_queries": 13,
    },
    # Issue 17: `ketacare fhir-export` of the 100,000-patient clinic (about 2,400,000 responses)
    # under 5 minutes and 300 MB.
    "fhir_export": {"export_seconds": 300, "export_peak_rss_mb": 300},
    # The inspector's CSV download of the last full year (about 330,000 entries), read to its end.
    "ledger_pages": {"export_year_seconds": 5},
}


def run(suite: str, database_url: str, label: str) -> dict[str, object]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KETACARE_VAR_DIR": str(OUT / label),
        "KETACARE_HTTPS": "false",
        "KETACARE_PLAIN_STATIC": "true",
        "KETACARE_ALLOWED_HOSTS": "testserver",
    }
    args, _ = SUITES[suite]
    if not any(a.startswith("--requests=") for a in args):
        args = [*args, f"--requests={REQUESTS}"]
    cmd = [sys.executable, str(ROOT / "benchmarks" / f"{suite}.py"), *args]
    print(f"[{label}] {suite} ...", flush=True)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stdout, done.stderr, file=sys.stderr)
        raise SystemExit(f"{suite} on {label} failed")
    return {"suite": suite, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    suites = [s for s in os.environ.get("BENCH_SUITES", ",".join(SUITES)).split(",") if s]
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    pg = ROOT / "scripts" / "postgres.sh"
    results = []
    for suite in suites:
        sqlite_dir = OUT / "sqlite"
        shutil.rmtree(sqlite_dir, ignore_errors=True)
        results.append(run(suite, f"sqlite:///{sqlite_dir / 'bench.sqlite3'}", "sqlite"))
        subprocess.run([str(pg), "stop"], check=False)
        subprocess.run([str(pg), "start"], check=True)
        try:
            url = subprocess.run([str(pg), "url"], check=True, capture_output=True, text=True).stdout.strip()
            results.append(run(suite, url, "postgresql"))
        finally:
            subprocess.run([str(pg), "stop"], check=False)

    print()
    print(f"{'suite':<15} {'database':<11} {'page':<20} {'median ms':>9} {'p95 ms':>7} {'target':>7}  data")
    failed = False
    for r in results:
        _, targets = SUITES[str(r["suite"])]
        data = ", ".join(
            f"{k}={r[k]}"
            for k in (
                "patients",
                "responses",
                "sessions",
                "calendar_week_appointments",
                "board_in_chairs",
                "trials",
                "entries",
                "big_lot_entries",
                "refresh_all_seconds",
                "seed_seconds",
                "seed_peak_rss_mb",
            )
            if k in r
        )
        for page, target in targets.items():
            s = r[page]
            assert isinstance(s, dict)
            measure, limit = target if isinstance(target, tuple) else ("p95_ms", target)
            ok = s[measure] < limit
            failed |= not ok
            verdict = f"<{limit}" if ok else "MISSED"
            verdict += "" if measure == "p95_ms" else " med"
            print(
                f"{r['suite']:<15} {r['database']:<11} {page:<20} {s['median_ms']:>9} {s['p95_ms']:>7} "
                f"{verdict:>7}  {data}"
            )
        for name, limit in SCALAR_TARGETS.get(str(r["suite"]), {}).items():
            ok = float(str(r[name])) <= limit
            failed |= not ok
            print(f"{'':<15} {r['database']:<11} {name}: {r[name]} ({'within' if ok else 'MISSED'} {limit})")
        if "export_rows" in r:
            print(
                f"{'':<15} {r['database']:<11} export of {r['export_year']}: {r['export_rows']} rows, "
                f"{r['export_mb']} MB of CSV, peak memory {r['export_peak_mb']} MB"
            )
        if "scores_per_second" in r:
            print(f"{'':<15} {r['database']:<11} scores per second: {r['scores_per_second']}")
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nFull figures: {OUT / 'results.json'} (requests per page: {REQUESTS})")
    if failed:
        raise SystemExit("a page missed its target")


if __name__ == "__main__":
    main()

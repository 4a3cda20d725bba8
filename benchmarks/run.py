"""`make bench`: the speed and memory figures, with the data sizes they were measured on.

Runs each benchmark in a fresh process against a fresh SQLite file and a fresh PostgreSQL 15
(started by scripts/postgres.sh), prints a table and writes var/bench/results.json.
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
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
TARGET_MS = 50.0


def run(database_url: str, label: str) -> dict[str, object]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KETACARE_VAR_DIR": str(OUT / label),
        "KETACARE_HTTPS": "false",
        "KETACARE_PLAIN_STATIC": "true",
        "KETACARE_ALLOWED_HOSTS": "testserver",
    }
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "web_pages.py"),
        f"--patients={PATIENTS}",
        f"--requests={REQUESTS}",
    ]
    print(f"[{label}] seeding {PATIENTS:,} patients and timing {REQUESTS} requests per page ...", flush=True)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stdout, done.stderr, file=sys.stderr)
        raise SystemExit(f"benchmark on {label} failed")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    results = [run(f"sqlite:///{OUT / 'sqlite' / 'bench.sqlite3'}", "sqlite")]
    pg = ROOT / "scripts" / "postgres.sh"
    subprocess.run([str(pg), "start"], check=True)
    try:
        url = subprocess.run([str(pg), "url"], check=True, capture_output=True, text=True).stdout.strip()
        results.append(run(url, "postgresql"))
    finally:
        subprocess.run([str(pg), "stop"], check=False)

    print()
    header = ("database", "patients", "seed s", "seed MB", "page", "median ms", "p95 ms", "target")
    print("{:<11} {:>9} {:>7} {:>8} {:<16} {:>9} {:>7} {:>7}".format(*header))
    failed = False
    for r in results:
        for page in ("search", "list_unfiltered", "chart"):
            s = r[page]
            assert isinstance(s, dict)
            ok = s["p95_ms"] < TARGET_MS
            failed |= not ok
            print(
                f"{r['database']:<11} {r['patients']:>9,} {r['seed_seconds']:>7} "
                f"{r['seed_peak_rss_mb']:>8} {page:<16} "
                f"{s['median_ms']:>9} {s['p95_ms']:>7} {'<50' if ok else 'MISSED':>7}"
            )
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nFull figures: {OUT / 'results.json'} (requests per page: {REQUESTS})")
    if failed:
        raise SystemExit("a page missed its 50 ms target")


if __name__ == "__main__":
    main()

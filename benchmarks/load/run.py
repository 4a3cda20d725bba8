"""`make load`: 50 staff signing in with both factors, searching, opening charts and entering rating
scales for 2 minutes against gunicorn on 127.0.0.1, as `make demo` serves it. Zero errors allowed.

In a fresh private directory (removed afterwards) with its own SQLite file: the demo set-up
(migrate, demo-users, seed-demo --patients 250 --seed 1, collectstatic), one staff account per
simulated user with its own authenticator (prepare.py), then gunicorn on a free port and locust
headless (locustfile.py). Prints requests, failures, median, p95 and p99 per page and in total,
writes them to var/bench/load.json, and exits non-zero on any failed request, any 5xx in
gunicorn's access log, a traceback, "database is locked" or a worker timeout in its log, any
exception in a simulated user, or a user that could not sign in.

    .venv/bin/python benchmarks/load/run.py                      # the CI run: 50 users, 120 s
    .venv/bin/python benchmarks/load/run.py --users 10 --duration 20   # a quick look
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "var" / "bench" / "load.json"
# The staff mix, repeated: half nurses, a quarter front desk, a quarter physicians.
ROLE_CYCLE = ("nurse", "front_desk", "nurse", "physician")
# gunicorn's access log line (config/access_log.py): address, [time], "method path", status, ...
_ACCESS = re.compile(r'"(?P<method>\S+) (?P<path>\S*)" (?P<status>\d{3}) \S+ (?P<ms>\d+)ms')
# What a struggling server says in its own log, whether or not a client saw it.
SERVER_TROUBLE = ("database is locked", "WORKER TIMEOUT", "Traceback", "Internal Server Error")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated staff, each signed in once (50)")
    parser.add_argument("--duration", type=int, default=120, help="seconds of load after start (120)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second (10)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (3)")
    parser.add_argument("--patients", type=int, default=250, help="seeded demo patients (250)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON figures go")
    parser.add_argument(
        "--wait", default="2-5", help="seconds a user spends on a page before the next, MIN-MAX (2-5)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the private directory (logs, database)")
    args = parser.parse_args()
    if args.users < 1 or args.duration < 1 or args.workers < 1:
        parser.error("--users, --duration and --workers must be at least 1")
    try:
        low, high = (float(x) for x in args.wait.split("-"))
    except ValueError:
        parser.error("--wait takes MIN-MAX seconds, such as 2-5")
    if not 0 <= low <= high:
        parser.error("--wait: MIN-MAX with 0 <= MIN <= MAX")
    args.wait_s = [low, high]
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(var_dir: Path) -> dict[str, str]:
    """The environment of every command and of the server: the private directory and its SQLite
    file, plain HTTP on loopback, two-factor sign-in on (whatever the caller's shell says)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KETACARE_STATIC_ROOT")}
    env.update(
        KETACARE_VAR_DIR=str(var_dir),
        KETACARE_HTTPS="false",
        KETACARE_ALLOWED_HOSTS="127.0.0.1,localhost",
        KETACARE_TWO_FACTOR_REQUIRED="true",
        KETACARE_TIME_ZONE="UTC",  # the locustfile fills in "completed at" in UTC
        KETACARE_CACHE_LOCATION=str(var_dir / "cache"),
        PYTHONUNBUFFERED="1",
    )
    return env


def step(label: str, cmd: list[str], env: dict[str, str]) -> None:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stdout, done.stderr, file=sys.stderr)
        raise SystemExit(f"load test set-up failed at: {label}")
    print(f"  {label:<34} {time.perf_counter() - started:5.1f} s", flush=True)


def make_plan(users: int, wait_s: list[float]) -> dict[str, Any]:
    password = "load-" + secrets.token_urlsafe(18)
    return {
        "wait_s": wait_s,
        "accounts": [
            {
                "username": f"load{number:03d}",
                "password": password,
                "role": ROLE_CYCLE[(number - 1) % len(ROLE_CYCLE)],
                "totp_key": secrets.token_hex(20),
            }
            for number in range(1, users + 1)
        ],
    }


def wait_until_serving(server: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped at start (exit {server.returncode}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"gunicorn did not answer within {timeout_s:.0f} s:\n{tail(log)}")


def stop(process: subprocess.Popen[bytes] | None, grace_s: float = 20) -> None:
    """SIGTERM (gunicorn lets its workers finish the request in hand), then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else round(float(value), 1)


def read_stats(prefix: Path) -> dict[str, Any]:
    """locust's CSV files: per request name, and the errors and exceptions it recorded."""
    rows = []
    with open(f"{prefix}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            rows.append(
                {
                    "method": row["Type"],
                    "name": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "requests_per_s": round(float(row["Requests/s"]), 2),
                    "median_ms": _ms(row["Median Response Time"]),
                    "p95_ms": _ms(row["95%"]),
                    "p99_ms": _ms(row["99%"]),
                    "max_ms": _ms(row["Max Response Time"]),
                }
            )
    with open(f"{prefix}_failures.csv", newline="") as f:
        failures = [
            {
                "method": r["Method"],
                "name": r["Name"],
                "error": r["Error"],
                "occurrences": int(r["Occurrences"]),
            }
            for r in csv.DictReader(f)
        ]
    exceptions_file = Path(f"{prefix}_exceptions.csv")
    exceptions = []
    if exceptions_file.exists():
        with open(exceptions_file, newline="") as f:
            exceptions = [dict(r) for r in csv.DictReader(f)]
    total = next(r for r in rows if r["name"] == "Aggregated")
    pages = [r for r in rows if r["name"] != "Aggregated"]
    return {"pages": pages, "total": total, "failures": failures, "exceptions": exceptions}


def read_server_logs(access_log: Path, server_log: Path) -> dict[str, Any]:
    """Statuses, 5xx answers and per-page processing times as gunicorn logged them. A worker's
    time leaves out the wait in the listen queue: beside locust's times it tells a slow page from
    a busy server."""
    statuses: dict[str, int] = {}
    errors_5xx = []
    times: dict[str, list[int]] = {}
    for line in access_log.read_text(errors="replace").splitlines() if access_log.exists() else []:
        match = _ACCESS.search(line)
        if match is None:
            continue
        status = match["status"]
        statuses[status] = statuses.get(status, 0) + 1
        if status.startswith("5"):
            errors_5xx.append(f"{match['method']} {match['path']} {status}")
        page = f"{match['method']} {re.sub(r'/[0-9]+/', '/[id]/', match['path'])}"
        times.setdefault(page, []).append(int(match["ms"]))
    processing = {
        page: {
            "requests": len(ms),
            "median_ms": round(statistics.median(ms)),
            "p95_ms": sorted(ms)[max(0, math.ceil(0.95 * len(ms)) - 1)],
            "total_s": round(sum(ms) / 1000, 1),
        }
        for page, ms in sorted(times.items())
    }
    text = server_log.read_text(errors="replace") if server_log.exists() else ""
    trouble = {word: text.count(word) for word in SERVER_TROUBLE if word in text}
    return {
        "statuses": dict(sorted(statuses.items())),
        "server_errors": errors_5xx[:20],
        "log_trouble": trouble,
        "processing": processing,
    }


def print_table(stats: dict[str, Any]) -> None:
    header = f"{'page':<45} {'requests':>8} {'fails':>5} {'req/s':>6} {'median':>7} {'p95':>7} {'p99':>7}"
    print("\n" + header + "\n" + "-" * len(header))

    def line(r: dict[str, Any], name: str) -> str:
        cells = (r["median_ms"], r["p95_ms"], r["p99_ms"])
        ms = " ".join(f"{'-' if c is None else f'{c:.0f}':>7}" for c in cells)
        return f"{name[:45]:<45} {r['requests']:>8} {r['failures']:>5} {r['requests_per_s']:>6.1f} {ms}"

    for r in sorted(stats["pages"], key=lambda r: r["name"]):
        print(line(r, f"{r['method']} {r['name']}"))
    print("-" * len(header))
    print(line(stats["total"], "total") + "   (times in ms)")


def print_processing(processing: dict[str, dict[str, Any]]) -> None:
    header = f"{'gunicorn worker time per page':<45} {'requests':>8} {'median':>7} {'p95':>7} {'total s':>8}"
    print("\n" + header + "\n" + "-" * len(header))
    for page, p in processing.items():
        print(f"{page[:45]:<45} {p['requests']:>8} {p['median_ms']:>7} {p['p95_ms']:>7} {p['total_s']:>8}")


def main() -> None:
    args = parse_args()
    # A CI job's timeout or `kill` sends SIGTERM: end as on Ctrl-C, through the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    var_dir = Path(tempfile.mkdtemp(prefix="ketacare-load-"))  # mode 0700: only its owner reads it
    env = server_env(var_dir)
    server: subprocess.Popen[bytes] | None = None
    locust: subprocess.Popen[bytes] | None = None
    server_log, access_log, locust_log = (
        var_dir / "server.log",
        var_dir / "access.log",
        var_dir / "locust.log",
    )
    try:
        print(f"Load test: {args.users} users for {args.duration} s, {args.workers} gunicorn workers")
        ketacare = str(BIN / "ketacare")
        step("migrate", [ketacare, "migrate", "--no-input"], env)
        step("demo-users", [ketacare, "demo-users"], env)
        step(
            f"seed-demo --patients {args.patients}",
            [ketacare, "seed-demo", "--patients", str(args.patients), "--seed", "1"],
            env,
        )
        step("collectstatic", [ketacare, "collectstatic", "--no-input", "--verbosity", "0"], env)
        plan_file = var_dir / "plan.json"
        plan_file.write_text(json.dumps(make_plan(args.users, args.wait_s)))
        plan_file.chmod(0o600)
        step(
            f"{args.users} accounts with authenticators",
            [sys.executable, str(HERE / "prepare.py"), str(plan_file)],
            env,
        )

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        # As `make demo` starts it (Makefile), on a free port, the logs kept for the verdict.
        with open(server_log, "wb") as log:
            server = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "ketacare.config.wsgi",
                    "--config",
                    "python:ketacare.config.gunicorn",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(args.workers),
                    "--access-logfile",
                    str(access_log),
                    "--forwarded-allow-ips=127.0.0.1",
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started = time.perf_counter()
        wait_until_serving(server, url, server_log)
        print(f"  {'gunicorn serving on ' + url:<34} {time.perf_counter() - started:5.1f} s", flush=True)

        prefix = var_dir / "locust"
        print(f"  locust: {args.users} users for {args.duration} s ...", flush=True)
        # Other work on a shared machine (a CI runner, a colleague's tests) slows every page.
        load_before = os.getloadavg()[0]
        load_started = time.monotonic()
        with open(locust_log, "wb") as log:
            locust = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(HERE / "locustfile.py"),
                    "--headless",
                    "--users",
                    str(args.users),
                    "--spawn-rate",
                    str(args.spawn_rate),
                    "--run-time",
                    f"{args.duration}s",
                    # Let a user finish the page in hand at the end rather than cut it off.
                    "--stop-timeout",
                    "15",
                    "--host",
                    url,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                ],
                env={**env, "KETACARE_LOAD_PLAN": str(plan_file)},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            returncode = locust.wait(timeout=args.duration + 120)
        load_seconds = time.monotonic() - load_started
        stop(server)
        if returncode not in (0, 1) or not Path(f"{prefix}_stats.csv").exists():  # 1: some request failed
            raise SystemExit(f"locust itself failed (exit {returncode}):\n{tail(locust_log)}")

        stats = read_stats(prefix)
        server_side = read_server_logs(access_log, server_log)
        locust_text = locust_log.read_text(errors="replace")
        signed_in = sum(r["requests"] - r["failures"] for r in stats["pages"] if r["name"] == "sign-in code")
        worker_seconds = sum(p["total_s"] for p in server_side["processing"].values())
        busy = round(worker_seconds / (args.workers * load_seconds), 2)
        result = {
            "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "users": args.users,
            "duration_s": args.duration,
            "spawn_rate": args.spawn_rate,
            "wait_s": args.wait_s,
            "gunicorn_workers": args.workers,
            "patients": args.patients,
            "database": "sqlite",
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_before": round(load_before, 2),
            },
            # Share of the workers' time spent answering: near 1, requests queue for a worker and
            # locust's times are mostly that wait (compare server.processing, a worker's own time).
            "worker_busy_fraction": busy,
            "signed_in_users": signed_in,
            "total": stats["total"],
            "pages": stats["pages"],
            "failures": stats["failures"],
            "exceptions": stats["exceptions"],
            "server": server_side,
            "locust_cpu_warning": "CPU usage above" in locust_text,
        }
        print_table(stats)
        print_processing(server_side["processing"])
        print(f"\nSigned in: {signed_in} of {args.users}. Server statuses: {server_side['statuses']}")
        print(
            f"Workers busy {busy:.0%} of the {load_seconds:.0f} s; load average before the run "
            f"{load_before:.1f} on {os.cpu_count()} CPUs."
        )
        if result["locust_cpu_warning"]:
            print("locust warned that its own CPU use was above 90%: the figures include client delay.")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"Figures: {args.output}")

        problems = [
            f"{f['occurrences']} x {f['method']} {f['name']}: {f['error']}" for f in stats["failures"]
        ]
        problems += [f"exception in a user: {e.get('Message', e)}" for e in stats["exceptions"]]
        problems += [f"server error: {line}" for line in server_side["server_errors"]]
        problems += [f"server log: {word} x{n}" for word, n in server_side["log_trouble"].items()]
        if signed_in != args.users:
            problems.append(f"only {signed_in} of {args.users} users signed in")
        if stats["total"]["requests"] == 0:
            problems.append("no request was made")
        if problems:
            print("\nLoad test FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
            if server_side["log_trouble"]:
                print(f"\nServer log (last lines):\n{tail(server_log)}", file=sys.stderr)
            raise SystemExit(1)
        print("Load test passed: no failed request, no server error.")
    finally:
        stop(locust, grace_s=5)
        stop(server)
        if args.keep:
            print(f"Kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: the server is stopped and the directory removed already
        print("Load test interrupted.", file=sys.stderr)
        sys.exit(130)

"""Requests as a server process answers them: the WSGI app is loaded first, as a gunicorn worker
loads it at boot, then the first signed-in GET of each path is timed, then `--requests` more of
each (warm). Prints {"first_ms": {path: ms}, "warm": {path: summary}}. Used by outcome_pages.py,
so the pages are timed in a process that serves pages, not in the one that loaded the data."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from stats import sign_in, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    from django.test import Client

    import ketacare.config.wsgi  # noqa: F401  (what a gunicorn worker loads before it accepts a request)
    from ketacare.accounts.models import User

    client = Client()
    sign_in(client, User.objects.get(username="bench-physician"))

    def timed(path: str) -> float:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")
        return elapsed

    first = {path: round(timed(path), 1) for path in args.paths}
    warm = {path: summary([timed(path) for _ in range(args.requests)]) for path in args.paths}
    print(json.dumps({"first_ms": first, "warm": warm}))


if __name__ == "__main__":
    main()

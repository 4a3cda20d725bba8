"""The first request in a new server process, as a gunicorn worker serves it: the WSGI app is
loaded first (as at worker boot), then one signed-in GET of the path given is timed. Prints
{"ms": ...}. Used by outcome_pages.py."""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    from django.test import Client

    import ketacare.config.wsgi  # noqa: F401  (what a gunicorn worker loads before it accepts a request)
    from ketacare.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username="bench-physician"))
    started = time.perf_counter()
    response = client.get(sys.argv[1])
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        sys.exit(f"{sys.argv[1]} answered {response.status_code}")
    print(json.dumps({"ms": round(elapsed, 1)}))


if __name__ == "__main__":
    main()

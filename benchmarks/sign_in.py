"""Signing in: the server time of the two steps a person takes (the password, then the
authenticator's code), with passwords stored as the clinic stores them (Argon2id, accounts/
hashers.py). Each sign-in is a different member of staff, so that no code is a replay.

Server time through the whole Django stack, in this process. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from stats import cpu_reference_ms, summary

PASSWORD = "bench-password-long"  # noqa: S105  (a benchmark account's)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40, help="sign-ins measured")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ketacare.accounts.roles import Role
    from ketacare.accounts.services import user_create

    call_command("migrate", verbosity=0)
    count = min(args.requests, 60)
    users = [
        user_create(username=f"bench-nurse-{n}", password=PASSWORD, role=Role.NURSE) for n in range(count + 3)
    ]
    devices = {u.pk: TOTPDevice.objects.create(user=u, name="Authenticator", confirmed=True) for u in users}

    def code(user: object) -> str:
        device = devices[user.pk]  # type: ignore[attr-defined]
        generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        generator.time = time.time()
        return f"{generator.token():06d}"

    def sign_in(user: object) -> tuple[float, float]:
        client = Client()
        client.get("/accounts/login/")
        started = time.perf_counter()
        first = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})  # type: ignore[attr-defined]
        password_ms = (time.perf_counter() - started) * 1000
        if first.status_code != 302:
            sys.exit(f"the password step answered {first.status_code}")
        client.get("/accounts/two-factor/")
        started = time.perf_counter()
        second = client.post("/accounts/two-factor/", {"code": code(user)})
        code_ms = (time.perf_counter() - started) * 1000
        if second.status_code != 302:
            sys.exit(f"the code step answered {second.status_code}: {second.content[:300]!r}")
        return password_ms, code_ms

    for user in users[:3]:  # warm: templates, the hasher's first call
        sign_in(user)
    timings = [sign_in(user) for user in users[3:]]
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "hasher": settings.PASSWORD_HASHERS[0].rsplit(".", 1)[-1],
                "sign_in_total": summary([p + c for p, c in timings]),
                "password_step": summary([p for p, _ in timings]),
                "code_step": summary([c for _, c in timings]),
                "cpu_reference_ms": cpu_reference_ms(),
            }
        )
    )


if __name__ == "__main__":
    main()

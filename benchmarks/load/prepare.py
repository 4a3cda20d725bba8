"""The load test's staff accounts, made the way the clinic's own are (accounts.services.user_create,
audited), each with a confirmed authenticator whose key the plan holds so that the locustfile can
compute its codes; then the seeded surnames the users search for, written into the same plan.

    python benchmarks/load/prepare.py PLAN.json   (run.py calls it, with the load's KETACARE_VAR_DIR)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> None:
    plan_path = Path(sys.argv[1])
    plan = json.loads(plan_path.read_text())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    import django

    django.setup()
    from django.db import transaction
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ketacare.accounts.roles import Role
    from ketacare.accounts.services import user_create
    from ketacare.audit.context import Actor
    from ketacare.patients.models import Patient

    actor = Actor.command("load-test")
    with transaction.atomic():
        for number, account in enumerate(plan["accounts"], start=1):
            user = user_create(
                username=account["username"],
                password=account["password"],
                role=Role(account["role"]),
                first_name="Load",
                last_name=f"Tester {number}",
                actor=actor,
            )
            TOTPDevice.objects.create(
                user=user, name="Authenticator", confirmed=True, key=account["totp_key"]
            )
    plan["surnames"] = sorted(set(Patient.objects.values_list("family_name", flat=True)))
    plan_path.write_text(json.dumps(plan))
    print(f"{len(plan['accounts'])} load accounts with authenticators; {len(plan['surnames'])} surnames")


if __name__ == "__main__":
    main()

from django.core.management.base import BaseCommand
from django.db import transaction

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.accounts.services import claim_demo_database, user_create, user_set_role
from ketacare.audit.context import Actor

DEMO_PASSWORD = "ketacare-demo"  # noqa: S105  (demo accounts only, printed by `make demo`)
DEMO_USERS = (
    ("physician", Role.PHYSICIAN, "Maya", "Okafor"),
    ("nurse", Role.NURSE, "Sam", "Lindqvist"),
    ("frontdesk", Role.FRONT_DESK, "Jordan", "Reyes"),
    ("admin", Role.CLINIC_ADMIN, "Priya", "Natarajan"),
)


class Command(BaseCommand):
    help = "Create the four demo accounts (one per role). For demonstrations only, never in production."

    @transaction.atomic
    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        claim_demo_database()
        for username, role, first, last in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user_create(
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role,
                    first_name=first,
                    last_name=last,
                    actor=Actor.command("demo-users"),
                )
            else:
                user.set_password(DEMO_PASSWORD)
                user.is_active = True
                user.save(update_fields=["password", "is_active"])
                user_set_role(user=user, role=role, actor=Actor.command("demo-users"))
        self.stdout.write("Demo accounts ready: " + ", ".join(u[0] for u in DEMO_USERS))

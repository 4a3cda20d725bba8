from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "ketacare.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from ketacare.accounts.services import roles_sync_after_migrate

        # Groups and their permissions follow roles.py after every migrate (idempotent), so a
        # permission added in code reaches every clinic's database without a hand-written step.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="ketacare-roles-sync")
        from ketacare import migration_history  # noqa: F401  (check: a migration history this release continues)
        from ketacare.accounts import (  # noqa: F401  (receivers)
            middleware,  # the time of sign-in, for the absolute session limit
            signin,  # failed sign-ins and re-entries audited
        )

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ketacare.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from ketacare.audit import checks, guard, signals  # noqa: F401  (checks: the audit key; signals: sign-ins)

        connection_created.connect(guard.register, dispatch_uid="ketacare-audit-guard")

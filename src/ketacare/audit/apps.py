from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ketacare.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from ketacare.audit import signals  # noqa: F401  (records sign-in and sign-out)

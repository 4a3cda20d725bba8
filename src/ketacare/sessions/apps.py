from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "ketacare.sessions"
    # "sessions" is Django's own session store's label.
    label = "treatment_sessions"
    verbose_name = "Treatment sessions"

    def ready(self) -> None:
        from ketacare.sessions import checks  # noqa: F401  (registers the checklist-file check)

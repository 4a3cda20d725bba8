from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "ketacare.screening"
    label = "screening"
    verbose_name = "Consultation and candidacy"

    def ready(self) -> None:
        from ketacare.screening import checks  # noqa: F401  (registers the screening-rules check)

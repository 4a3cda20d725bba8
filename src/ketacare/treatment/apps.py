from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    name = "ketacare.treatment"
    label = "treatment"
    verbose_name = "Treatment plans and appointments"

    def ready(self) -> None:
        from ketacare.treatment import checks  # noqa: F401  (registers the protocols-file check)

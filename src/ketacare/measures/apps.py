from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "ketacare.measures"
    label = "measures"
    verbose_name = "Measures"

    def ready(self) -> None:
        from ketacare.measures import checks  # noqa: F401  (registers the wording-file check)

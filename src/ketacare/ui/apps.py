from django.apps import AppConfig


class UiConfig(AppConfig):
    name = "ketacare.ui"
    label = "ui"
    verbose_name = "Shared page parts"

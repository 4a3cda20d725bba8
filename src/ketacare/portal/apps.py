from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "ketacare.portal"
    label = "portal"
    verbose_name = "The patient's side: the clinic's public pages"
    default_auto_field = "django.db.models.BigAutoField"

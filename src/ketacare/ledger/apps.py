from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ketacare.ledger"
    verbose_name = "Controlled-substance ledger"

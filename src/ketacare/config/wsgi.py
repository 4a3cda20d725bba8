import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
application = get_wsgi_application()


from ketacare.audit.checks import refuse_unsafe_production  # noqa: E402  (after the settings)

refuse_unsafe_production()


def _warm() -> None:
    """Load, as the worker boots, what the first requests would otherwise load: every URL and
    view (the plots' matplotlib among them), so no clinician's first page in a new server process
    waits for imports."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports every view module)


_warm()

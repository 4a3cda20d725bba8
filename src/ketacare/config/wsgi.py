import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
application = get_wsgi_application()


def _refuse_unsafe_production() -> None:
    """The app server does not run Django's checks: refuse to start here without the audit key
    (or with two-factor sign-in off) in production, naming the problem."""
    from django.core.exceptions import ImproperlyConfigured

    from ketacare.audit.checks import production_problems

    problems = production_problems()
    if problems:
        raise ImproperlyConfigured(" ".join(p.msg for p in problems))


_refuse_unsafe_production()


def _warm() -> None:
    """Load, as the worker boots, what the first requests would otherwise load: every URL and
    view (the plots' matplotlib among them), so no clinician's first page in a new server process
    waits for imports."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports every view module)


_warm()

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
application = get_asgi_application()

from ketacare.audit.checks import refuse_unsafe_production  # noqa: E402  (after the settings)

refuse_unsafe_production()

"""A database set up by `make demo` before the marker existed is marked as a demo one: it is the
database whose demo accounts still have the published demo password."""

from django.contrib.auth.hashers import check_password
from django.db import migrations

DEMO_USERNAMES = ("physician", "nurse", "frontdesk", "admin")
DEMO_PASSWORD = "ketacare-demo"  # noqa: S105  (the published demo password, as demo_users sets it)


def mark(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    DemoDatabase = apps.get_model("accounts", "DemoDatabase")
    demo = [u for u in User.objects.filter(username__in=DEMO_USERNAMES) if check_password(DEMO_PASSWORD, u.password)]
    if demo and not DemoDatabase.objects.exists():
        DemoDatabase.objects.create(id=1)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_demo_database_marker")]

    operations = [migrations.RunPython(mark, migrations.RunPython.noop)]

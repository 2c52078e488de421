"""A minimal Django project for the ORM tests (test_pg_guard_django.py), configured in-process.

The model is the motivating story's: `Enroll(user, course)` declares `unique_together`, but the
table has no unique index (the migration cannot be applied over legacy duplicates), so the
proxy enforces the key. Two database aliases: `default` reaches the guarded table through the
proxy (database `app`), `twin` reaches the twin table with the real constraint directly
(database `twin`, harness/guarded.py); their ports are set per test by `point_at`.
"""
import django
from django.conf import settings

TABLE = "dj_courses_enroll"
TWIN = "twin"


def _database(name):
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "",  # set by point_at
        "OPTIONS": {"connect_timeout": 10},
    }


def setup():
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            USE_TZ=True,
            TIME_ZONE="UTC",
            INSTALLED_APPS=["django_app"],
            DATABASES={"default": _database("app"), TWIN: _database("twin")},
            DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        )
        django.setup()


def point_at(proxy_port, server_port):
    """Points `default` at a proxy and `twin` at the server, dropping any open connection, and
    turns on the query log of both (connection.queries) so that tests can show the SQL sent."""
    from django.db import connections
    for alias, port in (("default", proxy_port), (TWIN, server_port)):
        conn = connections[alias]
        conn.close()
        conn.settings_dict["PORT"] = str(port)
        conn.force_debug_cursor = True
        conn.queries_log.clear()


def close_all():
    from django.db import connections
    for alias in ("default", TWIN):
        connections[alias].close()

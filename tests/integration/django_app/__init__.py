"""A minimal Django project for the ORM tests (test_pg_guard_django.py), configured in-process.

The model is the motivating story's: `Enroll(user, course)` declares `unique_together`, but the
table has no unique index (the migration cannot be applied over legacy duplicates), so the
proxy enforces the key. Two database aliases: `default` reaches the guarded table through the
proxy (database `app`), `twin` reaches the twin table with the real constraint directly
(database `twin`, harness/guarded.py); their ports are set per test by `point_at`.

The same model runs on MariaDB for test_mysql_guard_django.py: alias `mysql` reaches the guarded
table through the proxy (database `app`), `mysql_twin` the twin with the real UNIQUE key directly
(database `twin`); ports set by `point_at_mysql`. Settings are configured once per process, so
both backends' aliases are declared here; a connection opens only when an alias is used.
"""
import django
from django.conf import settings

TABLE = "dj_courses_enroll"
TWIN = "twin"
MYSQL, MYSQL_TWIN = "mysql", "mysql_twin"


def _database(name):
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "",  # set by point_at
        "OPTIONS": {"connect_timeout": 10},
    }


def _mysql_database(name):
    from harness.mariadb_server import NATIVE_PASSWORD, NATIVE_USER
    return {
        "ENGINE": "django.db.backends.mysql",  # mysqlclient (MySQLdb)
        "NAME": name,
        "USER": NATIVE_USER,
        "PASSWORD": NATIVE_PASSWORD,
        "HOST": "127.0.0.1",
        "PORT": "",  # set by point_at_mysql
        "OPTIONS": {"charset": "utf8mb4", "connect_timeout": 10},
    }


def setup():
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            USE_TZ=True,
            TIME_ZONE="UTC",
            INSTALLED_APPS=["django_app"],
            DATABASES={"default": _database("app"), TWIN: _database("twin"),
                       MYSQL: _mysql_database("app"), MYSQL_TWIN: _mysql_database("twin")},
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


def point_at_mysql(proxy_port, server_port):
    """As point_at, for the MariaDB aliases."""
    from django.db import connections
    for alias, port in ((MYSQL, proxy_port), (MYSQL_TWIN, server_port)):
        conn = connections[alias]
        conn.close()
        conn.settings_dict["PORT"] = str(port)
        conn.force_debug_cursor = True
        conn.queries_log.clear()


def close_all():
    from django.db import connections
    for alias in ("default", TWIN, MYSQL, MYSQL_TWIN):
        connections[alias].close()

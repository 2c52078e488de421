"""Settings of the guide's example project. The database port comes from DB_PORT, so the same
project talks to PostgreSQL directly (5432) or through uniqguard (6432)."""
import os

SECRET_KEY = "guide-example-only"
INSTALLED_APPS = ["courses"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "courses",
        "USER": "app",
        "PASSWORD": os.environ.get("APP_PASSWORD", ""),
        "HOST": "127.0.0.1",
        "PORT": os.environ.get("DB_PORT", "5432"),
        # Shown in uniqguard's duplicate log: which program sent the write.
        "OPTIONS": {"application_name": os.environ.get("APP_NAME", "mysite")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

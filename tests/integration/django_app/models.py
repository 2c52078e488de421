from django.db import models

from . import TABLE


class Enroll(models.Model):
    # Plain integers rather than foreign keys: the columns are what the guard sees.
    user_id = models.IntegerField()
    course_id = models.IntegerField()
    note = models.TextField(default="")

    class Meta:
        app_label = "django_app"
        db_table = TABLE
        managed = False  # the table is created by the test (harness/guarded.py), unique-less
        # Declared as in the application; not in the guarded database, which is the point.
        unique_together = [("user_id", "course_id")]

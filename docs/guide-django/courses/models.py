from django.db import models


class Enroll(models.Model):
    user_id = models.IntegerField()
    course_id = models.IntegerField()

    class Meta:
        # Added late: migration 0002 cannot land while old rows repeat a pair.
        unique_together = [("user_id", "course_id")]

"""Two ways to enroll a user."""
from .models import Enroll


def enroll_legacy(user_id, course_id):
    # The old code path: a double-submitted form enrolls twice.
    return Enroll.objects.create(user_id=user_id, course_id=course_id)


def enroll(user_id, course_id):
    # get_or_create reads first, and if its INSERT meets the unique key (another request won
    # the race) it catches the IntegrityError and reads the winner's row.
    enrollment, _created = Enroll.objects.get_or_create(user_id=user_id, course_id=course_id)
    return enrollment

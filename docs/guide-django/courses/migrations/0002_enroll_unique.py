from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("courses", "0001_initial")]
    operations = [
        migrations.AlterUniqueTogether(name="enroll", unique_together={("user_id", "course_id")}),
    ]

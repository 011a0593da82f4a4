from django.db import models


class Invitation(models.Model):
    token = models.CharField(max_length=64, unique=True)
    question = models.CharField(max_length=200)
    customer = models.CharField(max_length=100)


class Answer(models.Model):
    """One answer per invitation, keyed by its token (the database checks it exists)."""

    invitation = models.OneToOneField(Invitation, to_field="token", db_column="token", on_delete=models.CASCADE)
    score = models.PositiveSmallIntegerField()
    submitted_at = models.DateTimeField(auto_now_add=True)

"""Creates a survey anyone may answer, with one 1–10 question, in a peer app's database
and prints as JSON where its page is and what a POST of one answer sends.

    DJANGO_SETTINGS_MODULE=tests.benchmarks.peers.form_surveys.settings python make_survey.py

Neither app has per-respondent tokens for anonymous answers: every anonymous POST is a
new respondent's first answer (a new response row), which is what P1 measures."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

QUESTION = "How satisfied are you with the delivery?"


def survey_and_report() -> dict:
    from survey.models import Question, Survey

    survey = Survey.objects.create(name="Delivery", description="After your delivery", is_published=True,
                                   need_logged_user=False, editable_answers=False,
                                   display_method=Survey.ALL_IN_ONE_PAGE)
    question = Question.objects.create(survey=survey, text=QUESTION, order=1, required=True, type=Question.RADIO,
                                       choices=",".join(str(score) for score in range(1, 11)))
    path = f"/survey/{survey.pk}/"
    return {"get": path, "post": path, "body": f"question_{question.pk}=7"}


def form_surveys() -> dict:
    from djf_surveys.models import TYPE_FIELD, Question, Survey

    survey = Survey.objects.create(name="Delivery", description="After your delivery", can_anonymous_user=True)
    question = Question.objects.create(survey=survey, label=QUESTION, type_field=TYPE_FIELD.rating, choices="10",
                                       required=True)
    path = f"/surveys/create/{survey.slug}/"
    return {"get": path, "post": path, "body": f"field_survey_{question.pk}=7"}


def main() -> None:
    import django

    django.setup()
    from django.apps import apps

    made = survey_and_report() if apps.is_installed("survey") else form_surveys()
    print(json.dumps(made))


if __name__ == "__main__":
    main()

from __future__ import annotations

import pytest

from surveys.models import DEFAULT_SURVEY_SLUG, Survey

pytestmark = pytest.mark.django_db


class TestDefaultSurvey:
    def test_the_migration_made_the_default_survey(self):
        assert Survey.default().slug == DEFAULT_SURVEY_SLUG

    def test_another_survey_marked_default_is_the_default(self):
        Survey.objects.update(is_default=False)
        nps = Survey.objects.create(slug="nps", name="NPS", is_default=True)
        assert Survey.default() == nps

    def test_reading_the_default_never_writes(self, django_assert_num_queries):
        Survey.objects.update(is_default=False)
        with django_assert_num_queries(1), pytest.raises(Survey.DoesNotExist, match="No survey is marked as the default"):
            Survey.default()
        assert not Survey.objects.filter(is_default=True).exists()

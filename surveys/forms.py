from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import COMMENT_MAX_LENGTH, Survey


class ResponseForm(forms.Form):
    score = forms.IntegerField(error_messages={"required": _("Choose a score."), "invalid": _("Choose a whole-number score.")})
    comment = forms.CharField(
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea,
        error_messages={
            "max_length": _("Keep the comment to %(limit_value)d characters (it has %(show_value)d)."),
        },
    )

    def __init__(self, *args, survey: Survey, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.survey = survey

    def clean_score(self) -> int:
        score = self.cleaned_data["score"]
        if score not in self.survey.scores:
            raise forms.ValidationError(
                gettext("Choose a score from %(lowest)d to %(highest)d.")
                % {"lowest": self.survey.scale_min, "highest": self.survey.scale_max},
                code="out_of_scale",
            )
        return score


def preselected_score(value: str | None, survey: Survey) -> int | None:
    """The score an email link carried (`?score=N`), when it is one of the survey's."""
    try:
        score = int(value or "")
    except ValueError:
        return None
    return score if score in survey.scores else None

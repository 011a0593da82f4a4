"""What the respondent's pages show of a survey's set-up besides the survey itself: who
is asking (its Sender) and its texts in the contact's language (a SurveyText).

Both change seldom and every survey page shows them, so each web process keeps what it
read for KEEP_SECONDS instead of asking the database on every page. A change saved in
this process (the admin) shows at once; another web process shows it within
KEEP_SECONDS. The survey's own row (its question, scale and bands) is always read
fresh, with the invitation.

The same store keeps parts of the pages rendered once (the score buttons, and the
template parts marked `{% kept %}`, surveys/templatetags/survey_pages.py), each under a
key naming everything it shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from .models import Invitation, Sender, SurveyText

KEEP_SECONDS = 5.0

T = TypeVar("T")
_kept: dict[tuple, tuple[float, object]] = {}


def prepare(invitation: Invitation) -> None:
    """Gives `invitation` its sender and its texts in its contact's language, from what
    this process read in the last KEEP_SECONDS or else from the database."""
    survey = invitation.survey
    language = invitation.contact.language
    invitation.sender = kept_or_read(("sender", survey.sender_id), lambda: Sender.of(survey))
    translation = kept_or_read(("texts", survey.pk, language), lambda: _translation(survey.pk, language))
    invitation.use_texts(translation or survey)


def default_sender() -> Sender:
    """The default sender, as `prepare` keeps it (the page of an unknown link)."""
    return kept_or_read(("sender", None), Sender.default)


def score_buttons(scores: range, *, checked: object, chosen: int | None) -> SafeString:
    """The survey's score buttons, `checked` (a score, or what a form sent) checked and
    `chosen` (the email link's score) marked. They depend on nothing else, so each
    process renders each combination once per KEEP_SECONDS: ten buttons cost a hot page
    more to render than the rest of its form."""
    checked_score = next((score for score in scores if str(score) == str(checked)), None)
    return kept_or_read(
        ("score-buttons", scores.start, scores.stop, checked_score, chosen),
        lambda: render_to_string(
            "surveys/partials/score_buttons.html",
            {"scores": [(str(score), score == checked_score, score == chosen) for score in scores]},
        ),
    )


def _translation(survey_id: int, language: str) -> SurveyText | None:
    return SurveyText.objects.filter(survey_id=survey_id, language=language).first()


def kept_or_read(key: tuple, read: Callable[[], T]) -> T:
    """What `read` gave for `key` in the last KEEP_SECONDS in this process, or its new answer."""
    now = time.monotonic()
    kept = _kept.get(key)
    if kept is not None and now - kept[0] < KEEP_SECONDS:
        return kept[1]  # type: ignore[return-value]
    value = read()
    _kept[key] = (now, value)
    return value


def forget(**kwargs: object) -> None:
    """Drops everything kept: a sender, a survey or a text was saved or deleted."""
    _kept.clear()

"""The least Django does for ValuePulse's survey link: the page is one indexed SELECT and
a hand-written template; the answer is a validated form and one INSERT, then 303."""

import re

from django import forms
from django.db import IntegrityError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from .models import Answer, Invitation

TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}\Z")
SCORES = range(1, 11)


class AnswerForm(forms.Form):
    score = forms.IntegerField(min_value=1, max_value=10)


def survey(request, token):
    if not TOKEN.match(token):
        raise Http404
    if request.method == "POST":
        form = AnswerForm(request.POST)
        if not form.is_valid():
            return HttpResponseBadRequest("Choose a score from 1 to 10.")
        try:
            Answer.objects.create(invitation_id=token, score=form.cleaned_data["score"])
        except IntegrityError:  # no such invitation, or answered already
            raise Http404 from None
        return HttpResponse(status=303, headers={"Location": f"/s/{token}/thanks/"})
    invitation = Invitation.objects.filter(token=token).values("question", "customer").first()
    if invitation is None:
        raise Http404
    return render(request, "bare/page.html", {"invitation": invitation, "scores": SCORES})

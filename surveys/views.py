"""Public pages a respondent reaches from the survey email. No login; the link token
is the only key, and an unknown token looks the same whatever the reason."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from . import services
from .forms import ResponseForm, preselected_score
from .models import Invitation

def _invitation_or_404(token: str) -> Invitation:
    invitation = services.invitation_for_token(token)
    if invitation is None:
        raise Http404("Unknown survey link")
    return invitation


def _see_other(url: str) -> HttpResponse:
    """303: after a POST the browser GETs the next step, and a reload posts nothing."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _closed(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    return render(request, "surveys/closed.html", {"invitation": invitation}, status=410)


@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_or_404(token)
    if invitation.is_expired():
        return _closed(request, invitation)
    survey = invitation.survey
    answer = getattr(invitation, "response", None)
    if request.method == "POST":
        form = ResponseForm(request.POST, survey=survey)
        if form.is_valid():
            try:
                services.record_response(invitation=invitation, **form.cleaned_data)
            except services.InvitationClosed:
                return _closed(request, invitation)
            return _see_other(reverse("surveys:thanks", args=[token]))
        status = 400
    else:
        chosen = preselected_score(request.GET.get("score"), survey)
        initial = {"score": chosen or (answer.score if answer else None), "comment": answer.comment if answer else ""}
        form = ResponseForm(initial=initial, survey=survey)
        status = 200
    context = {
        "invitation": invitation,
        "survey": survey,
        "question": invitation.fill_in(survey.question),
        "form": form,
        "answer": answer,
        "token": token,
    }
    return render(request, "surveys/respond.html", context, status=status)


def thanks(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_or_404(token)
    answer = getattr(invitation, "response", None)
    if answer is None:
        return redirect("surveys:respond", token=token)
    return render(request, "surveys/thanks.html", {"invitation": invitation, "answer": answer, "token": token})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_or_404(token)
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        # RFC 8058: the mail client posts without cookies or a CSRF token.
        services.unsubscribe(invitation=invitation)
        return HttpResponse("Unsubscribed.", content_type="text/plain")
    return _unsubscribe_page(request, invitation)


@csrf_protect
def _unsubscribe_page(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    if request.method == "POST":
        services.unsubscribe(invitation=invitation)
        return render(request, "surveys/unsubscribed.html", {"invitation": invitation})
    return render(request, "surveys/unsubscribe.html", {"invitation": invitation})

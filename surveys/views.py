"""Public pages a respondent reaches from the survey email. No login; the link token
is the only key, and an unknown token looks the same whatever the reason.

Every step works as a plain form; with JavaScript, htmx swaps the steps in place."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from django_htmx.http import push_url

from core.http import HtmxHttpRequest, page_or_fragment, see_other
from core.ratelimit import rate_limited

from . import page_setup, services
from .forms import ResponseForm, preselected_score
from .models import COMMENT_MAX_LENGTH, Invitation, Sender

PublicView = Callable[..., HttpResponse]


def public_page(view: PublicView) -> PublicView:
    """Rate limited per client address; the token in the URL never leaves in a
    Referer header to another site, and no cache keeps the page. No CSRF token and no
    cookie: cross-site request forgery rides on credentials a browser sends by itself,
    and these pages have none. Their one key is the token in their address, which a
    forged form cannot know and whoever holds it may use from anywhere."""
    return rate_limited("survey-pages")(csrf_exempt(_public(view)))


def _is_one_click_unsubscribe(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click"


def _is_not_one_click_unsubscribe(request: HttpRequest) -> bool:
    return not _is_one_click_unsubscribe(request)


def unsubscribe_page(view: PublicView) -> PublicView:
    """As public_page, with a limit of its own. The RFC 8058 one-click POST counts apart,
    against a far higher limit: mailbox providers send those in bursts from a few shared
    addresses, and its 256-bit token is what protects it."""
    pages_limit = rate_limited("unsubscribe", setting="UNSUBSCRIBE_RATE_LIMIT", exempt=_is_one_click_unsubscribe)
    one_click_limit = rate_limited(
        "one-click-unsubscribe", setting="ONE_CLICK_UNSUBSCRIBE_RATE_LIMIT", exempt=_is_not_one_click_unsubscribe
    )
    return pages_limit(one_click_limit(_public(view)))


def _public(view: PublicView) -> PublicView:
    @wraps(view)
    def wrapped(request: HttpRequest, token: str) -> HttpResponse:
        # The page switches to the contact's language once it knows the contact (see
        # _invitation_or_404); this puts the default back afterwards.
        with translation.override(settings.LANGUAGE_CODE):
            try:
                response = view(request, token)
            except Http404:
                response = _link_not_found(request)
        # same-origin, not no-referrer: with no-referrer Chromium posts forms with
        # `Origin: null`, which fails Django's CSRF origin check (the unsubscribe page's
        # form is checked: it is served by the full middleware, sessions included).
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        add_never_cache_headers(response)
        return response

    return wrapped


def _invitation_or_404(token: str) -> Invitation:
    """The invitation of a survey link, ready for its pages (see page_setup)."""
    invitation = _found_or_404(services.invitation_for_token(token))
    page_setup.prepare(invitation)
    return invitation


def _found_or_404(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise Http404("Unknown survey link")
    translation.activate(invitation.contact.language)
    return invitation


def _link_not_found(request: HttpRequest) -> HttpResponse:
    """An unknown link: the same page whatever the reason, in the default sender's name,
    with no way into the staff side."""
    return render(request, "surveys/not_found.html", {"sender": page_setup.default_sender()}, status=404)


def _render(
    request: HttpRequest, invitation: Invitation, template: str, context: dict, status: int = 200, *, fragment: str = ""
) -> HttpResponse:
    context = {
        "invitation": invitation,
        "language": invitation.contact.language,
        "comment_max_length": COMMENT_MAX_LENGTH,
        **context,
    }
    # Who is asking heads and closes the whole page; a fragment swapped in needs neither.
    return page_or_fragment(
        request,
        page=template,
        fragment=fragment or template,
        context=context,
        page_context=lambda: {"sender": invitation.sender},
        status=status,
    )


@public_page
@require_http_methods(["GET", "POST"])
def respond(request: HtmxHttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_or_404(token)
    if invitation.is_expired():
        return _render(request, invitation, "surveys/closed.html", {}, status=410)
    survey = invitation.survey
    answer = getattr(invitation, "response", None)
    if request.method == "POST":
        form = ResponseForm(request.POST, survey=survey)
        if form.is_valid():
            try:
                answer = services.record_response(invitation=invitation, **form.cleaned_data)
            except services.InvitationClosed:
                return _render(request, invitation, "surveys/closed.html", {}, status=410)
            thanks_url = reverse("surveys:thanks", args=[token])
            # The thanks page's comment form says so: that step confirms the comment is saved.
            comment_saved = request.POST.get("step") == "comment"
            if request.htmx:
                context = {"answer": answer, "token": token, "is_open": True, "comment_saved": comment_saved}
                return push_url(_render(request, invitation, "surveys/partials/thanks.html", context), thanks_url)
            return see_other(f"{thanks_url}?saved=comment" if comment_saved else thanks_url)
        status = 400
        chosen = None
        checked, comment = form["score"].value(), form["comment"].value()
        errors = {field: messages[0] for field, messages in form.errors.items()}
    else:
        chosen = preselected_score(request.GET.get("score"), survey)
        checked, comment = chosen or (answer.score if answer else None), answer.comment if answer else ""
        errors = {}
        status = 200
        if answer and chosen == answer.score:
            chosen = None  # the link's score is already the answer: nothing to press Send for
    # The page is built from plain values: rendering a form's widgets costs a hot page dearly.
    context = {
        "survey": survey,
        "question": invitation.text("question"),
        "score_buttons": page_setup.score_buttons(survey.scores, checked=checked, chosen=chosen),
        "comment": "" if comment is None else comment,
        "score_error": errors.get("score", ""),
        "comment_error": errors.get("comment", ""),
        "action": reverse("surveys:respond", args=[token]),
        "answer": answer,
        "token": token,
        "chosen": chosen,
    }
    return _render(
        request, invitation, "surveys/respond.html", context, status=status, fragment="surveys/partials/answer_form.html"
    )


@public_page
@require_http_methods(["GET"])
def thanks(request: HtmxHttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_or_404(token)
    answer = getattr(invitation, "response", None)
    if answer is None:
        return redirect("surveys:respond", token=token)
    context = {
        "answer": answer,
        "token": token,
        "is_open": not invitation.is_expired(),
        "comment_saved": request.GET.get("saved") == "comment",
    }
    return _render(request, invitation, "surveys/thanks.html", context)


@unsubscribe_page
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _found_or_404(services.invitation_for_unsubscribe_token(token))
    if _is_one_click_unsubscribe(request):
        # RFC 8058: the mail client posts without cookies or a CSRF token.
        services.unsubscribe(invitation=invitation)
        return HttpResponse("Unsubscribed.", content_type="text/plain")
    return _unsubscribe_page(request, invitation)


@csrf_protect
def _unsubscribe_page(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    page_setup.prepare(invitation)
    if request.method == "POST":
        services.unsubscribe(invitation=invitation)
        return _render(request, invitation, "surveys/unsubscribed.html", {})
    return _render(request, invitation, "surveys/unsubscribe.html", {})


@require_http_methods(["GET", "HEAD"])
def logo(request: HttpRequest, digest: str) -> HttpResponse:
    """A sender's logo. Its address names its content, so browsers and proxies may keep
    it for a year; a new logo has a new address."""
    found = Sender.objects.filter(logo_digest=digest).exclude(logo_digest="").values_list("logo", "logo_type").first()
    if found is None:
        raise Http404("No such logo")
    content, content_type = found
    response = HttpResponse(bytes(content), content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Content-Disposition"] = "inline"
    return response

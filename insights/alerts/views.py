"""The account managers' pages: the alert queue and one alert, worked in place.

Every alert action is a plain form POST that redirects back (303) with a message; with
htmx, the same POST answers with the alert's work panel (status, actions, notes) only."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from core import audit
from core.http import HtmxHttpRequest, page_or_fragment, see_other
from customers.models import Tier
from customers.queries import account_managers, visible_customers

from ..dashboard import charts
from surveys.models import Response
from surveys.services import AnswerAlreadyReviewed

from ..models import Alert, AlertKind, AlertStatus, Priority
from . import queries, services
from .forms import (
    AcknowledgeForm,
    BulkAcknowledgeForm,
    CloseAtRiskForm,
    NoteForm,
    ReassignForm,
    ReopenForm,
    ResolveForm,
)

ALERTS_PER_PAGE = 50
HISTORY_SHOWN = 24
OTHER_ANSWERS_SHOWN = 10


def _alert_for_user(request: HtmxHttpRequest, pk: int) -> Alert:
    """The alert, if this user may see it; otherwise 404, as if it did not exist."""
    alerts = queries.alerts_visible_to(request.user).select_related(
        "customer", "assignee", "response__survey", "response__invitation__contact", "response__invitation__delivery"
    )
    return get_object_or_404(alerts, pk=pk)


@login_required
def alert_list(request: HtmxHttpRequest) -> HttpResponse:
    # Account managers see their own queue whole (they may search it); staff may filter everyone's.
    if request.user.is_staff:
        filters = queries.AlertFilters.from_query(request.GET)
    else:
        filters = queries.AlertFilters.search_only(request.GET)
    paginator = Paginator(queries.alert_queue(user=request.user, filters=filters), ALERTS_PER_PAGE)
    context = {"filters": filters, "page": paginator.get_page(request.GET.get("page"))}
    return page_or_fragment(
        request,
        page="insights/alerts.html",
        fragment="insights/partials/alert_table.html",
        context=context,
        page_context=lambda: {
            **_queue_filter_choices(request.user),
            "possible_scanners": queries.possible_scanners(request.user).count(),
        },
    )


def _queue_filter_choices(user: AbstractBaseUser | AnonymousUser) -> dict[str, object]:
    """The staff's filters above the queue; account managers see their own queue whole."""
    if not user.is_staff:
        return {}
    return {
        "managers": account_managers(),
        "tiers": Tier.choices,
        "statuses": [*AlertStatus.choices, (queries.ALL_STATUSES, "Any status")],
        "priorities": Priority.choices,
        "kinds": AlertKind.choices,
    }


@login_required
def possible_scanners(request: HtmxHttpRequest) -> HttpResponse:
    paginator = Paginator(queries.possible_scanners(request.user), ALERTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    rows = queries.possible_scanner_rows(list(page.object_list))
    return render(request, "insights/possible_scanners.html", {"page": page, "rows": rows})


def _suspect_answer_for_user(request: HtmxHttpRequest, pk: int) -> Response:
    """The answer, if this user may see it; otherwise 404, as if it did not exist."""
    return get_object_or_404(queries.answers_visible_to(request.user).select_related("customer"), pk=pk)


@login_required
@require_POST
def confirm_scanner(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    answer = _suspect_answer_for_user(request, pk)
    try:
        raised = services.confirm_possible_scanner(response_id=answer.pk, user=request.user)
    except AnswerAlreadyReviewed as exc:
        messages.error(request, str(exc))
        return see_other(reverse("insights:possible-scanners"))
    if raised:
        messages.success(request, f"Confirmed as a person's answer: this alert is raised on its score, {answer.score}.")
        return see_other(reverse("insights:alert", args=[raised[0].pk]))
    answer.refresh_from_db()
    if answer.needs_evaluation:
        outcome = "it is evaluated once it has been unchanged for the quiet period, within a minute or two."
    else:
        outcome = f"{answer.score} ({answer.get_band_display().lower()}) raises no new alert; it now counts in the insights."
    messages.success(request, f"Confirmed as a person's answer from {answer.customer.name}: {outcome}")
    return see_other(reverse("insights:possible-scanners"))


@login_required
@require_POST
def dismiss_scanner(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    answer = _suspect_answer_for_user(request, pk)
    try:
        services.dismiss_possible_scanner(response_id=answer.pk, user=request.user)
    except AnswerAlreadyReviewed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Dismissed: {answer.customer.name}'s answer stays marked as a scanner's and counts nowhere.")
    return see_other(reverse("insights:possible-scanners"))


@login_required
def alert_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _render_alert(request, _alert_for_user(request, pk))


def _render_alert(
    request: HtmxHttpRequest,
    alert: Alert,
    *,
    panel_only: bool = False,
    failed: tuple[str, forms.Form] | None = None,
    done: str = "",
) -> HttpResponse:
    """The alert's page, or only its work panel. A form that failed, given as its name
    in the template and itself, is shown again with its errors, in a 400."""
    context = {
        "alert": alert,
        "done": done,
        "notes": alert.notes.select_related("author"),
        "assignees": queries.assignable_users(),
        "note_form": NoteForm(),
        "resolve_form": ResolveForm(),
        "reassign_form": ReassignForm(initial={"assignee": alert.assignee_id}),
        "reopen_form": ReopenForm(),
    }
    if failed:
        name, form = failed
        context.update({name: form, "failed_form": form})
    if panel_only:
        template = "insights/partials/alert_panel.html"
    else:
        template = "insights/alert.html"
        context.update(_page_context(alert))
        context.update(audit.trail_for_page(request.user, alert, alert.notes.all()))
    return render(request, template, context, status=400 if failed else 200)


def _page_context(alert: Alert) -> dict:
    customer, answer = alert.customer, alert.response
    history = queries.score_history(customer=customer, limit=HISTORY_SHOWN)
    if answer is None:
        # An unreachable alert: no answer of its own; the customer's contacts say why.
        satisfied_min = queries.at_risk_below(customer=customer) if history else None
        others = queries.recent_answers(customer_id=customer.pk, limit=OTHER_ANSWERS_SHOWN)
        contacts = queries.contacts_of(customer=customer)
    else:
        satisfied_min = answer.survey.satisfied_min
        others = queries.other_contacts_answers(response=answer, limit=OTHER_ANSWERS_SHOWN)
        contacts = None
    return {
        "customer": customer,
        "answer": answer,
        "contacts": contacts,
        "history": history,
        "chart": charts.score_chart(history, current_pk=alert.response_id, satisfied_min=satisfied_min)
        if history
        else None,
        "invoices": queries.invoice_summary(customer=customer, today=timezone.localdate()),
        "other_answers": others,
        # The answer's earlier versions, newest first: every change the respondent made.
        "earlier_answers": list(answer.history.all()) if answer is not None and answer.revisions else [],
    }


def _act(
    request: HtmxHttpRequest,
    pk: int,
    form: forms.Form,
    *,
    name: str,
    change: Callable[[Alert, dict], object],
    done: str,
) -> HttpResponse:
    """Makes one change to a visible alert from a posted form (`name` is the form's
    name in the template) and answers as asked: the panel for htmx, else a redirect."""
    alert = _alert_for_user(request, pk)
    if form.is_valid():
        try:
            change(alert, form.cleaned_data)
        except services.AlertChangeError as exc:
            form.add_error(None, str(exc))
    if form.errors:
        return _render_alert(request, alert, panel_only=bool(request.htmx), failed=(name, form))
    if request.htmx:
        # Read again: the change was made on a locked copy of the row.
        return _render_alert(request, _alert_for_user(request, pk), panel_only=True, done=done)
    messages.success(request, done)
    return see_other(reverse("insights:alert", args=[pk]))


@login_required
@require_POST
def acknowledge(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk, AcknowledgeForm(request.POST), name="acknowledge_form", done="Alert acknowledged.",
        change=lambda alert, data: services.acknowledge(alert=alert, user=request.user),
    )


@login_required
@require_POST
def add_note(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk, NoteForm(request.POST), name="note_form", done="Note added.",
        change=lambda alert, data: services.add_note(alert=alert, user=request.user, text=data["note"]),
    )


@login_required
@require_POST
def resolve(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk, ResolveForm(request.POST), name="resolve_form", done="Alert resolved.",
        change=lambda alert, data: services.resolve(alert=alert, user=request.user, note=data["note"]),
    )


@login_required
@require_POST
def reassign(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk, ReassignForm(request.POST), name="reassign_form", done="Alert reassigned.",
        change=lambda alert, data: services.reassign(
            alert=alert, user=request.user, assignee=data["assignee"], reason=data["reason"]
        ),
    )


@login_required
@require_POST
def reopen(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk, ReopenForm(request.POST), name="reopen_form", done="Alert reopened.",
        change=lambda alert, data: services.reopen(alert=alert, user=request.user, note=data["note"]),
    )


@login_required
@require_POST
def acknowledge_many(request: HtmxHttpRequest) -> HttpResponse:
    """The queue's "Acknowledge selected": a plain form of ticked alerts, no script."""
    form = BulkAcknowledgeForm(request.POST)
    if form.is_valid():
        ticked = queries.worklist(request.user).filter(pk__in=form.cleaned_data["alert"])
        count = services.acknowledge_many(alerts=ticked, user=request.user)
        messages.success(request, f"Acknowledged {count} alert{pluralize(count)}.")
    else:
        messages.error(request, " ".join(form.errors.get("alert", [])) or "Nothing was acknowledged.")
    search = form.cleaned_data.get("q", "")  # valid or not, back to the queue as searched
    return see_other(reverse("insights:alerts") + (f"?{urlencode({'q': search})}" if search else ""))


@login_required
def customers_at_risk(request: HtmxHttpRequest) -> HttpResponse:
    """Beside the queue: tier 1 customers whose latest stable answer is at risk, whatever
    became of their alerts."""
    paginator = Paginator(queries.customers_at_risk_for(request.user).select_related("account_manager"), ALERTS_PER_PAGE)
    return render(
        request, "insights/at_risk.html", {"page": paginator.get_page(request.GET.get("page")), "form": CloseAtRiskForm()}
    )


@login_required
@require_POST
def close_at_risk(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Staff take a customer off the customers at risk, with the reason."""
    if not request.user.is_staff:
        raise PermissionDenied("Only staff close a customer at risk.")
    customer = get_object_or_404(visible_customers(request.user), pk=pk)
    form = CloseAtRiskForm(request.POST)
    if form.is_valid():
        try:
            services.close_at_risk(customer=customer, user=request.user, reason=form.cleaned_data["reason"])
        except services.AlertChangeError as exc:
            form.add_error("reason", str(exc))
    if form.errors:
        messages.error(request, f"{customer.name}: {' '.join(form.errors['reason'])}")
    else:
        messages.success(request, f"{customer.name} is no longer listed as at risk.")
    return see_other(reverse("insights:at-risk"))

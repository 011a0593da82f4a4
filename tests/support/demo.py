"""Removing what seed_demo committed for a class of tests, so no later test sees it."""

from __future__ import annotations

from auditlog.context import disable_auditlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.models import OutgoingMessage
from customers.models import CX_LEADS_GROUP, Customer, MetricsDay
from demo.customers import ACCOUNT_MANAGER_LOGINS, STAFF_LOGIN
from insights.models import (
    AnswerCount,
    AnswerCountState,
    InvitationCount,
    LatestAnswerCount,
    RecentAnswerCount,
    SpanAnswerCount,
    SpanInvitationCount,
)
from surveys.models import Sender

DEMO_USERNAMES = [STAFF_LOGIN[0], *(login[0] for login in ACCOUNT_MANAGER_LOGINS)]


def remove_demo() -> None:
    # Without the audit trail: it would write an entry for each of thousands of deleted
    # rows, one INSERT each (70% of the removal's time), that no test reads.
    with disable_auditlog():
        _remove_demo_rows()


def _remove_demo_rows() -> None:
    Customer.objects.all().delete()
    get_user_model().objects.filter(username__in=DEMO_USERNAMES).delete()
    Group.objects.filter(name=CX_LEADS_GROUP).delete()
    # The insights' counts (rows of zero are kept, not deleted, as answers go) would
    # describe answers that are gone.
    for counts in (AnswerCount, SpanAnswerCount, RecentAnswerCount, LatestAnswerCount, InvitationCount,
                   SpanInvitationCount, AnswerCountState):
        counts.objects.all().delete()
    # The day the value metrics stand for: a later test's first night would not be one.
    MetricsDay.objects.all().delete()
    # The outbox's record of the demo's emails names invitations that are gone.
    OutgoingMessage.objects.all().delete()
    # Who is asking: the demo's company.
    Sender.objects.all().delete()

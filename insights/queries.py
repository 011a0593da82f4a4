"""Reads for pages, exports and the API. Who may see which alert is decided here, once."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from .models import Alert


def alerts_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Alert]:
    """Staff see every alert; an account manager only those of the customers they
    manage (anything else does not exist for them); anonymous users none."""
    alerts = Alert.objects.all()
    if not user.is_authenticated:
        return alerts.none()
    if user.is_staff:
        return alerts
    return alerts.filter(customer__account_manager=user)

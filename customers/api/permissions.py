"""Who may see and change what through the API, in one place.

Staff users (integrators, CX leads) read and write everything. Any other user (an
account manager) reads only the customers they manage, with their contacts and
invoices: everything else does not exist for them (404), and they write nothing (403).
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, QuerySet
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

M = TypeVar("M", bound=Model)


class StaffWritesManagersRead(BasePermission):
    # Anonymous requests fail here and DRF answers 401 with the token challenge.
    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or user.is_staff


def visible_to(user: AbstractBaseUser | AnonymousUser, queryset: QuerySet[M], *, via: str = "") -> QuerySet[M]:
    """The part of `queryset` that `user` may read. `via` is the path from its model to
    the customer ("customer" for contacts and invoices); empty for customers."""
    if user.is_staff:
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{via}__account_manager" if via else "account_manager": user})

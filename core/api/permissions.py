"""Who may write through the API: staff. Who may read which rows is each app's query."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class StaffWritesManagersRead(BasePermission):
    # Anonymous requests fail here and DRF answers 401 with the token challenge.
    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or user.is_staff

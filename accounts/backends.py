from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .models import SignInPolicy


class PasswordBackend(ModelBackend):
    """Django's username and password, refused while the sign-in policy requires single
    sign-on, except for the break-glass accounts: whichever form or view asks."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs):
        if username is None or password is None:
            return None
        if not SignInPolicy.current().allows_password_for(username):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

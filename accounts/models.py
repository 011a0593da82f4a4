from __future__ import annotations

from django.conf import settings
from django.db import models


class SignInPolicy(models.Model):
    """How people may sign in; one row, edited by staff in the admin."""

    require_sso = models.BooleanField(
        "require single sign-on",
        default=False,
        help_text="Refuse password sign-in on the login page and the admin, except for the "
        "break-glass accounts below. API tokens keep working.",
    )
    break_glass_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Accounts that may still sign in with a password while single sign-on is "
        "required, for when the provider is down.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sign-in policy"
        verbose_name_plural = "sign-in policy"

    def __str__(self) -> str:
        return "Single sign-on required" if self.require_sso else "Password sign-in allowed"

    @classmethod
    def current(cls) -> SignInPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy

    def allows_password_for(self, username: str) -> bool:
        # With single sign-on no longer configured, passwords are the only way in again.
        if not self.require_sso or not settings.SSO_ENABLED:
            return True
        return self.break_glass_users.filter(username=username, is_active=True).exists()

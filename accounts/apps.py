from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Who gets in: password sign-in, single sign-on (OpenID Connect) and the sign-in
    policy staff set in the admin. Imports no other ValuePulse app."""

    name = "accounts"
    verbose_name = "Sign-in"

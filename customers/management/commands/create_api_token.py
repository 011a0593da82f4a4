from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import AuthToken
from knox.settings import knox_settings


class Command(BaseCommand):
    help = (
        "Creates an API token for a user and prints it. It is shown this once: only its hash is "
        "stored. Revoke it by deleting it in the admin (Knox > Auth tokens)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--days",
            type=int,
            help=f"Days until the token expires (default {knox_settings.TOKEN_TTL.days}, from API_TOKEN_TTL_DAYS).",
        )

    def handle(self, *args, username: str, days: int | None = None, **options) -> None:
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        User = get_user_model()
        try:
            user = User.objects.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"No user with username '{username}'.") from None
        if not user.is_active:
            raise CommandError(f"User '{username}' is inactive; a token would not authenticate.")
        ttl = timedelta(days=days) if days is not None else knox_settings.TOKEN_TTL
        instance, token = AuthToken.objects.create(user=user, expiry=ttl)
        # The token alone on stdout, so scripts can capture it; the note goes to stderr.
        self.stdout.write(token)
        self.stderr.write(f"Token for '{username}' expires {instance.expiry:%Y-%m-%d %H:%M %Z}.")

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework.test import APIClient

from tests.factories import ApiStaffFactory, ApiUserFactory

pytestmark = pytest.mark.django_db


def create_token(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


class TestCreateApiToken:
    def test_it_prints_a_token_that_authenticates(self):
        ApiStaffFactory(username="integrator")
        token = create_token("integrator")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.get("/api/v1/customers/").status_code == 200

    def test_it_stores_only_a_hash_of_the_token(self):
        ApiStaffFactory(username="integrator")
        token = create_token("integrator")
        stored = AuthToken.objects.get()
        assert token not in stored.digest
        assert len(stored.token_key) < len(token)

    def test_it_expires_after_the_days_asked_for(self):
        ApiUserFactory(username="ana")
        create_token("ana", "--days", "7")
        expiry = AuthToken.objects.get().expiry
        assert abs(expiry - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)

    def test_it_expires_after_the_configured_lifetime_by_default(self):
        ApiUserFactory(username="ana")
        create_token("ana")
        expiry = AuthToken.objects.get().expiry
        assert abs(expiry - (timezone.now() + knox_settings.TOKEN_TTL)) < timedelta(minutes=1)

    def test_each_call_makes_a_new_token(self):
        ApiUserFactory(username="ana")
        assert create_token("ana") != create_token("ana")
        assert AuthToken.objects.count() == 2

    def test_it_rejects_an_unknown_user(self):
        with pytest.raises(CommandError, match="No user with username 'ghost'"):
            create_token("ghost")
        assert not AuthToken.objects.exists()

    def test_it_rejects_an_inactive_user(self):
        ApiUserFactory(username="gone", is_active=False)
        with pytest.raises(CommandError, match="inactive"):
            create_token("gone")

    @pytest.mark.parametrize("days", ["0", "-3"])
    def test_it_rejects_a_lifetime_under_a_day(self, days):
        ApiUserFactory(username="ana")
        with pytest.raises(CommandError, match="--days"):
            create_token("ana", "--days", days)

"""Sign-in lockout: a username + address pair that fails LOGIN_FAILURE_LIMIT times is
refused, even with the right password, until the cool-off ends or staff unlock it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"
ADDRESS = "198.51.100.20"


@pytest.fixture
def user():
    return UserFactory(username="ana", is_staff=True)


def log_in(client: Client, url: str, password: str, *, username: str = "ana", address: str = ADDRESS, **headers):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def fail(client: Client, url: str, times: int, **kwargs) -> list[int]:
    return [log_in(client, url, "wrong", **kwargs).status_code for _ in range(times)]


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


class TestLockout:
    @pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
    def test_the_fifth_failure_locks_with_a_clear_message_on_the_login_page(self, client, user, url):
        statuses = fail(client, url, 5)
        assert statuses == [200, 200, 200, 200, 429]
        locked = log_in(client, url, "wrong")
        page = locked.content.decode()
        assert locked.status_code == 429 and locked["Retry-After"] == str(15 * 60)
        assert "This account is locked for 15 minutes" in page
        assert "ask a staff member" in page
        assert "<title>Log in · ValuePulse</title>" in page  # our page, in the site's layout

    @pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
    def test_the_right_password_is_refused_while_locked(self, client, user, url):
        fail(client, url, 5)
        answer = log_in(client, url, PASSWORD)
        assert answer.status_code == 429
        assert not is_logged_in(client)

    def test_failures_on_both_login_pages_count_together(self, client, user):
        assert fail(client, LOGIN, 3) + fail(client, ADMIN_LOGIN, 2) == [200, 200, 200, 200, 429]

    def test_the_limit_and_the_cool_off_are_settings(self, client, user, settings):
        # config/settings.py sets these from LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_MINUTES.
        settings.AXES_FAILURE_LIMIT = 2
        settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
        assert fail(client, LOGIN, 2) == [200, 429]
        assert "locked for 30 minutes" in log_in(client, LOGIN, PASSWORD).content.decode()

    def test_the_lock_holds_one_username_at_one_address(self, client, user):
        UserFactory(username="ben")
        fail(client, LOGIN, 5)
        assert log_in(Client(), LOGIN, PASSWORD, address="198.51.100.21").status_code == 302
        assert log_in(Client(), LOGIN, PASSWORD, username="ben").status_code == 302

    def test_a_success_before_the_limit_starts_the_count_afresh(self, client, user):
        fail(client, LOGIN, 4)
        assert log_in(client, LOGIN, PASSWORD).status_code == 302
        assert fail(Client(), LOGIN, 4) == [200] * 4

    def test_after_the_cool_off_the_right_password_works(self, client, user):
        fail(client, LOGIN, 5)
        AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
        answer = log_in(client, LOGIN, PASSWORD)
        assert answer.status_code == 302 and answer["Location"] == reverse("insights:alerts")

    def test_behind_a_proxy_the_lock_holds_the_clients_address_whatever_it_writes(self, client, user, settings):
        settings.TRUSTED_PROXY_HOPS = 1
        statuses = [
            log_in(client, LOGIN, "wrong", address="10.0.0.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7").status_code
            for n in range(5)
        ]
        assert statuses == [200, 200, 200, 200, 429]
        assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
        # Another client behind the same proxy is not locked out.
        assert log_in(Client(), LOGIN, PASSWORD, address="10.0.0.9", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302


class TestStaffUnlock:
    @pytest.fixture
    def lead(self) -> Client:
        lead = Client()
        lead.force_login(UserFactory(username="lead", is_staff=True, is_superuser=True))
        return lead

    def test_staff_see_the_locked_pair_in_the_admin(self, client, user, lead):
        fail(client, LOGIN, 5)
        page = lead.get(reverse("admin:axes_accessattempt_changelist"), {"locked_out": "yes"}).content.decode()
        assert "ana" in page and ADDRESS in page and "Locked Out" in page

    def test_staff_unlock_a_pair_from_the_admin_and_the_right_password_works_again(self, client, user, lead):
        fail(client, LOGIN, 5)
        attempt = AccessAttempt.objects.get(username="ana", ip_address=ADDRESS)
        answer = lead.post(
            reverse("admin:axes_accessattempt_changelist"),
            {"action": "unlock", "_selected_action": [attempt.pk]},
            follow=True,
        )
        assert "1 sign-in lock(s) lifted" in answer.content.decode()
        assert not AccessAttempt.objects.exists()
        assert log_in(client, LOGIN, PASSWORD).status_code == 302
        assert is_logged_in(client)

    def test_staff_without_the_permission_cannot_unlock(self, client, user):
        fail(client, LOGIN, 5)
        clerk = Client()
        clerk.force_login(UserFactory(username="clerk", is_staff=True))
        answer = clerk.post(
            reverse("admin:axes_accessattempt_changelist"),
            {"action": "unlock", "_selected_action": [AccessAttempt.objects.get().pk]},
        )
        assert answer.status_code == 403
        assert AccessAttempt.objects.exists()

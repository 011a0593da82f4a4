"""Staff may require single sign-on for everyone but the break-glass accounts: password
sign-in is then refused on the login page and the admin, while SSO and API tokens work."""

from __future__ import annotations

import re
from html import unescape

import pytest
import requests
from knox.models import AuthToken

from accounts.models import SignInPolicy
from tests.factories import StaffFactory, UserFactory
from tests.support.oidc import sign_in_with_sso

from .test_sso import signed_in_as

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
REFUSAL = "Password sign-in is switched off: use “Sign in with Test IdP” on the ValuePulse login page (/login/)."


def log_in_with_password(session: requests.Session, url: str, username: str, password: str = PASSWORD) -> requests.Response:
    form = session.get(url, timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    return session.post(url, data={"csrfmiddlewaretoken": csrf, "username": username, "password": password},
                        headers={"Referer": url}, timeout=10)


@pytest.fixture
def sso_required(sso):
    """SSO on, required, with `root` as the one break-glass account."""
    root = StaffFactory(username="root", is_superuser=True, email="root@example.com")
    policy = SignInPolicy.current()
    policy.require_sso = True
    policy.save()
    policy.break_glass_users.add(root)
    return policy


class TestRequiredSingleSignOn:
    def test_password_login_is_refused_with_a_pointer_to_the_sso_button(self, live_server, sso_required):
        UserFactory(username="ana")
        session = requests.Session()

        answer = log_in_with_password(session, f"{live_server.url}/login/", "ana")

        assert REFUSAL in unescape(answer.text)
        assert "Sign in with Test IdP" in answer.text
        assert signed_in_as(session, live_server) is None

    def test_a_wrong_password_gets_the_same_answer_as_a_right_one(self, live_server, sso_required):
        UserFactory(username="ana")

        answer = log_in_with_password(requests.Session(), f"{live_server.url}/login/", "ana", "not it")

        assert REFUSAL in unescape(answer.text)

    def test_the_admin_login_refuses_staff_who_are_not_break_glass(self, live_server, sso_required):
        StaffFactory(username="lead", is_superuser=True)
        session = requests.Session()

        answer = log_in_with_password(session, f"{live_server.url}/admin/login/", "lead")

        assert REFUSAL in unescape(answer.text)
        assert session.get(f"{live_server.url}/admin/", timeout=10).url.startswith(f"{live_server.url}/admin/login/")

    def test_the_break_glass_account_still_signs_in_with_a_password_on_both_pages(self, live_server, sso_required):
        admin_session, page_session = requests.Session(), requests.Session()

        log_in_with_password(admin_session, f"{live_server.url}/admin/login/", "root")
        log_in_with_password(page_session, f"{live_server.url}/login/", "root")

        assert admin_session.get(f"{live_server.url}/admin/", timeout=10).url == f"{live_server.url}/admin/"
        assert signed_in_as(page_session, live_server) == "root"

    def test_single_sign_on_still_signs_people_in(self, live_server, sso_required):
        UserFactory(username="alice", email="alice@example.com")
        session = requests.Session()

        sign_in_with_sso(session, live_server.url, "alice")

        assert signed_in_as(session, live_server) == "alice"

    def test_api_tokens_keep_working(self, live_server, sso_required):
        _, key = AuthToken.objects.create(UserFactory(username="integrator"))

        answer = requests.get(f"{live_server.url}/api/v1/customers/", headers={"Authorization": f"Token {key}"}, timeout=10)

        assert answer.status_code == 200

    def test_password_login_works_again_once_staff_switch_the_requirement_off(self, live_server, sso_required):
        UserFactory(username="ana")
        sso_required.require_sso = False
        sso_required.save()
        session = requests.Session()

        log_in_with_password(session, f"{live_server.url}/login/", "ana")

        assert signed_in_as(session, live_server) == "ana"


    def test_passwords_work_again_when_sso_is_no_longer_configured(self, client, sso_required, settings):
        UserFactory(username="ana")
        settings.SSO_ENABLED = False

        assert client.post("/login/", {"username": "ana", "password": PASSWORD}).status_code == 302


class TestEditingThePolicy:
    """Staff change the policy as any other admin change (so it is logged like one)."""

    def change(self, client, **data):
        staff = StaffFactory(username="lead", is_superuser=True)
        client.force_login(staff)
        policy = SignInPolicy.current()
        return client.post(f"/admin/accounts/signinpolicy/{policy.pk}/change/", data)

    def test_staff_require_sso_with_a_break_glass_admin(self, client, settings):
        settings.SSO_ENABLED = True
        root = StaffFactory(username="root")

        answer = self.change(client, require_sso="on", break_glass_users=[root.pk])

        assert answer.status_code == 302
        policy = SignInPolicy.current()
        assert policy.require_sso and list(policy.break_glass_users.all()) == [root]

    def test_requiring_sso_without_a_break_glass_account_is_refused(self, client, settings):
        settings.SSO_ENABLED = True

        answer = self.change(client, require_sso="on")

        assert "Name at least one active break-glass account" in answer.content.decode()
        assert not SignInPolicy.current().require_sso

    def test_requiring_sso_is_refused_while_sso_is_not_configured(self, client):
        root = StaffFactory(username="root")

        answer = self.change(client, require_sso="on", break_glass_users=[root.pk])

        assert "Single sign-on is not configured" in answer.content.decode()
        assert not SignInPolicy.current().require_sso

    def test_the_admin_list_opens_the_one_policy(self, client):
        answer = self.change(client)  # a first request makes the policy
        answer = client.get("/admin/accounts/signinpolicy/")

        assert answer.status_code == 302
        assert answer.url == f"/admin/accounts/signinpolicy/{SignInPolicy.current().pk}/change/"

from __future__ import annotations

import pytest
from django.core.mail import send_mail
from django.urls import reverse

from core import mailbox as dev_mailbox
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

MAILBOX_URL = reverse("mailbox")


@pytest.fixture
def mailbox_dir(settings, tmp_path):
    # pytest-django swaps in the in-memory backend; these tests are about the real local one.
    settings.EMAIL_BACKEND = "core.mailbox.MailboxBackend"
    settings.MAILBOX_DIR = tmp_path / "mailbox"
    return settings.MAILBOX_DIR


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


SURVEY_HTML = '<p>How did we do? <a href="http://127.0.0.1:8000/s/abc/?score=9">9</a></p>'
SANDBOX = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"


def send_survey(html: str = SURVEY_HTML) -> str:
    send_mail(
        "How satisfied are you with your delivery?",
        "How did we do? Answer here: http://127.0.0.1:8000/s/abc/",
        None,
        ["jo@acme.test"],
        html_message=html,
    )
    (message,) = dev_mailbox.list_messages()
    return message.name


class TestMailboxAccess:
    def test_anonymous_visitors_are_sent_to_log_in(self, client, mailbox_dir):
        response = client.get(MAILBOX_URL)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))

    def test_account_managers_cannot_read_the_mailbox(self, client, mailbox_dir):
        client.force_login(UserFactory())
        assert client.get(MAILBOX_URL).status_code == 302

    def test_staff_find_it_in_the_navigation(self, staff_client, mailbox_dir):
        assert f'href="{MAILBOX_URL}"' in staff_client.get(reverse("customers:list")).content.decode()

    def test_account_managers_do_not_see_it_in_the_navigation(self, client, mailbox_dir):
        client.force_login(UserFactory())
        assert f'href="{MAILBOX_URL}"' not in client.get(reverse("customers:list")).content.decode()

    def test_it_is_not_found_when_mail_goes_over_smtp(self, staff_client, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        assert staff_client.get(MAILBOX_URL).status_code == 404
        assert f'href="{MAILBOX_URL}"' not in staff_client.get(reverse("customers:list")).content.decode()


class TestMailboxList:
    def test_an_empty_mailbox_says_so(self, staff_client, mailbox_dir):
        assert "No mail yet." in staff_client.get(MAILBOX_URL).content.decode()

    def test_it_lists_a_message_sent_with_send_mail(self, staff_client, mailbox_dir):
        name = send_survey()
        html = staff_client.get(MAILBOX_URL).content.decode()
        assert "How satisfied are you with your delivery?" in html
        assert "jo@acme.test" in html
        assert reverse("mailbox-message", args=[name]) in html


class TestMailboxMessage:
    def test_it_shows_the_html_part_in_a_sandboxed_frame(self, staff_client, mailbox_dir):
        name = send_survey()
        html = staff_client.get(reverse("mailbox-message", args=[name])).content.decode()
        assert f'sandbox="{SANDBOX}"' in html
        assert f'src="{reverse("mailbox-message-html", args=[name])}"' in html

    def test_the_frame_serves_the_html_part_with_links_opening_in_a_new_tab(self, staff_client, mailbox_dir):
        name = send_survey()
        response = staff_client.get(reverse("mailbox-message-html", args=[name]))
        assert response.content.decode() == '<base target="_blank">' + SURVEY_HTML

    def test_the_html_part_has_a_sandboxed_policy_allowing_only_inline_styles(self, staff_client, mailbox_dir):
        response = staff_client.get(reverse("mailbox-message-html", args=[send_survey()]))
        policy = dict(
            directive.strip().split(" ", 1) for directive in response["Content-Security-Policy"].split(";")
        )
        assert policy["default-src"] == "'none'"
        assert policy["style-src"] == "'unsafe-inline'"
        assert policy["frame-ancestors"] == "'self'"
        assert policy["sandbox"] == SANDBOX
        assert "script-src" not in policy
        assert response["X-Frame-Options"] == "SAMEORIGIN"

    def test_a_text_only_message_has_no_html_part_to_frame(self, staff_client, mailbox_dir):
        send_mail("Plain", "Just text.", None, ["jo@acme.test"])
        (message,) = dev_mailbox.list_messages()
        assert staff_client.get(reverse("mailbox-message-html", args=[message.name])).status_code == 404

    def test_account_managers_cannot_read_the_html_part(self, client, mailbox_dir):
        name = send_survey()
        client.force_login(UserFactory())
        assert client.get(reverse("mailbox-message-html", args=[name])).status_code == 302

    def test_it_shows_the_plain_text_part(self, staff_client, mailbox_dir):
        name = send_survey()
        html = staff_client.get(reverse("mailbox-message", args=[name])).content.decode()
        assert '<pre class="mail-text">How did we do? Answer here: http://127.0.0.1:8000/s/abc/' in html

    def test_the_html_part_never_appears_in_the_mailbox_page(self, staff_client, mailbox_dir):
        name = send_survey(html='"></iframe><script>alert(1)</script>')
        html = staff_client.get(reverse("mailbox-message", args=[name])).content.decode()
        assert "alert(1)" not in html

    def test_a_text_only_message_has_no_frame(self, staff_client, mailbox_dir):
        send_mail("Plain", "Just text.", None, ["jo@acme.test"])
        (message,) = dev_mailbox.list_messages()
        html = staff_client.get(reverse("mailbox-message", args=[message.name])).content.decode()
        assert "<iframe" not in html
        assert "Just text." in html

    def test_an_unknown_message_is_not_found(self, staff_client, mailbox_dir):
        response = staff_client.get(reverse("mailbox-message", args=["20990101T000000000000-deadbeef.eml"]))
        assert response.status_code == 404

    def test_a_file_that_is_not_a_message_is_not_found(self, staff_client, mailbox_dir):
        send_survey()
        (mailbox_dir / "notes.txt").write_text("private")
        assert staff_client.get(reverse("mailbox-message", args=["notes.txt"])).status_code == 404

    @pytest.mark.parametrize("name", ["..%2Fsecret.eml", "%2E%2E%2Fsecret.eml", "..%5Csecret.eml", "..", "."])
    def test_a_path_outside_the_mailbox_is_not_found(self, staff_client, mailbox_dir, name):
        sent = send_survey()
        (mailbox_dir.parent / "secret.eml").write_bytes((mailbox_dir / sent).read_bytes())
        assert staff_client.get(f"/mailbox/{name}/").status_code == 404

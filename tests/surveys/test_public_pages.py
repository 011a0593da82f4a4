"""The respondent's pages reached from the survey email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Band
from surveys.models import Invitation, InvitationStatus, Response, hash_token
from tests.factories import InvitationFactory, sent_invitation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]

TOKEN = "a-test-token-of-enough-length"


@pytest.fixture
def invitation() -> Invitation:
    return sent_invitation(token=TOKEN)


class TestSurveyPage:
    @pytest.mark.parametrize("score", range(1, 11))
    def test_opening_a_score_link_preselects_it_and_records_nothing(self, client, invitation, score):
        page = client.get(f"/s/{TOKEN}/?score={score}")
        assert page.status_code == 200
        assert f'value="{score}" checked' in page.content.decode()
        assert Response.objects.count() == 0

    def test_the_page_asks_about_the_delivery(self, client, invitation):
        page = client.get(f"/s/{TOKEN}/").content.decode()
        assert f"How satisfied are you with {invitation.delivery.description}?" in page
        assert page.count('type="radio" name="score"') == 10

    def test_posting_a_score_records_it_and_shows_thanks(self, client, invitation):
        answer = client.post(f"/s/{TOKEN}/", {"score": "3", "comment": "Late twice."})
        assert answer.status_code == 303 and answer["Location"] == f"/s/{TOKEN}/thanks/"
        response = Response.objects.get()
        assert (response.score, response.band, response.comment) == (3, Band.AT_RISK, "Late twice.")
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.RESPONDED
        assert "Thank you" in client.get(answer["Location"]).content.decode()

    @pytest.mark.parametrize("score", ["0", "11", "5.5", "", "ten"])
    def test_a_bad_score_re_shows_the_form_with_the_error(self, client, invitation, score):
        answer = client.post(f"/s/{TOKEN}/", {"score": score})
        assert answer.status_code == 400
        assert 'role="alert"' in answer.content.decode()
        assert Response.objects.count() == 0

    def test_an_unknown_token_is_a_404(self, client, invitation):
        assert client.get("/s/not-a-real-token/").status_code == 404
        assert client.post("/s/not-a-real-token/", {"score": "5"}).status_code == 404

    def test_an_expired_invitation_shows_the_closed_page_and_takes_nothing(self, client):
        sent_invitation(token=TOKEN, expires_at=timezone.now() - timedelta(seconds=1))
        assert client.get(f"/s/{TOKEN}/").status_code == 410
        assert client.post(f"/s/{TOKEN}/", {"score": "9"}).status_code == 410
        assert Response.objects.count() == 0


class TestChangingTheAnswer:
    def test_the_last_answer_stands_and_the_earlier_one_is_kept(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "3"})
        client.post(f"/s/{TOKEN}/", {"score": "9", "comment": "Sorted now."})
        response = Response.objects.get()
        assert (response.score, response.band, response.revisions) == (9, Band.PROMOTER, 1)
        assert [(revision.score, revision.band) for revision in response.history.all()] == [(3, Band.AT_RISK)]

    def test_the_customer_keeps_the_latest_answer(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "4"})
        customer = invitation.delivery.customer
        customer.refresh_from_db()
        assert (customer.latest_score, customer.latest_band) == (4, Band.AT_RISK)
        client.post(f"/s/{TOKEN}/", {"score": "8"})
        customer.refresh_from_db()
        assert (customer.latest_score, customer.latest_band) == (8, Band.SATISFIED)
        assert customer.latest_answer_at == Response.objects.get().submitted_at


class TestUnsubscribe:
    def test_get_asks_for_confirmation_and_changes_nothing(self, client, invitation):
        assert client.get(f"/u/{TOKEN}/").status_code == 200
        invitation.contact.refresh_from_db()
        assert not invitation.contact.opted_out

    def test_one_click_post_opts_out_without_cookies_or_csrf(self, invitation):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        for _ in range(2):  # idempotent
            answer = client.post(f"/u/{TOKEN}/", {"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 200
        invitation.contact.refresh_from_db()
        assert invitation.contact.opted_out

    def test_the_confirm_form_needs_its_csrf_token(self, invitation):
        from django.test import Client

        assert Client(enforce_csrf_checks=True).post(f"/u/{TOKEN}/").status_code == 403

    def test_its_own_token_unsubscribes_and_opens_no_survey(self, client, invitation):
        Invitation.objects.filter(pk=invitation.pk).update(unsubscribe_token_hash=hash_token("an-unsubscribe-token"))
        assert client.get("/s/an-unsubscribe-token/").status_code == 404
        assert client.post("/u/an-unsubscribe-token/", {"List-Unsubscribe": "One-Click"}).status_code == 200
        invitation.contact.refresh_from_db()
        assert invitation.contact.opted_out

    def test_unsubscribing_works_after_the_survey_link_expired(self, client, invitation):
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(days=1), status=InvitationStatus.EXPIRED
        )
        assert client.get(f"/s/{TOKEN}/").status_code == 410
        assert client.post(f"/u/{TOKEN}/", {"List-Unsubscribe": "One-Click"}).status_code == 200
        invitation.contact.refresh_from_db()
        assert invitation.contact.opted_out

    def test_later_invitations_of_an_opted_out_contact_are_suppressed(self, client, invitation):
        later = InvitationFactory(delivery__contact=invitation.contact, delivery__customer=invitation.delivery.customer)
        client.post(f"/u/{TOKEN}/", {"List-Unsubscribe": "One-Click"})
        later.refresh_from_db()
        assert (later.status, later.suppressed_reason) == (InvitationStatus.SUPPRESSED, "opted_out")


class TestWithHtmx:
    def test_a_score_sent_with_htmx_swaps_in_the_thanks_and_moves_the_url(self, client, invitation):
        answer = client.post(f"/s/{TOKEN}/", {"score": "7"}, headers={"HX-Request": "true"})
        assert answer.status_code == 200
        assert answer["HX-Push-Url"] == f"/s/{TOKEN}/thanks/"
        page = answer.content.decode()
        assert "Thank you!" in page and "<html" not in page
        assert Response.objects.get().score == 7

    def test_a_bad_score_sent_with_htmx_re_shows_only_the_form(self, client, invitation):
        answer = client.post(f"/s/{TOKEN}/", {"score": "11"}, headers={"HX-Request": "true"})
        assert answer.status_code == 400
        assert "Choose a score from 1 to 10." in answer.content.decode()
        assert "<html" not in answer.content.decode()


class TestComments:
    def test_the_thanks_page_offers_to_add_a_comment_keeping_the_score(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "6"})
        thanks = client.get(f"/s/{TOKEN}/thanks/").content.decode()
        assert 'name="score" value="6"' in thanks
        client.post(f"/s/{TOKEN}/", {"score": "6", "comment": "The driver was kind."})
        response = Response.objects.get()
        assert (response.score, response.comment, response.revisions) == (6, "The driver was kind.", 1)

    def test_a_comment_over_two_thousand_characters_is_refused_with_a_clear_message(self, client, invitation):
        answer = client.post(f"/s/{TOKEN}/", {"score": "5", "comment": "x" * 2001})
        assert answer.status_code == 400
        assert "Keep the comment to 2000 characters (it has 2001)." in answer.content.decode()
        assert Response.objects.count() == 0

    def test_comments_are_shown_escaped(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "5", "comment": "<script>alert(1)</script>"})
        for url in (f"/s/{TOKEN}/", f"/s/{TOKEN}/thanks/"):
            page = client.get(url).content.decode()
            assert "<script>alert(1)</script>" not in page
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


class TestSafety:
    def test_public_pages_send_no_referrer_elsewhere_and_are_not_cached(self, client, invitation):
        page = client.get(f"/s/{TOKEN}/?score=4")
        assert page["Referrer-Policy"] == "same-origin"
        assert "no-store" in page["Cache-Control"]

    def test_the_survey_pages_leave_no_cookie(self, client, invitation):
        for url in (f"/s/{TOKEN}/", f"/s/{TOKEN}/?score=4", "/s/no-such-token/"):
            assert not client.get(url).cookies, url
        assert not client.post(f"/s/{TOKEN}/", {"score": "9"}).cookies
        assert not client.get(f"/s/{TOKEN}/thanks/").cookies

    def test_an_answer_needs_the_links_token_and_nothing_else(self, invitation):
        """Cross-site request forgery rides on credentials a browser sends by itself (a
        session cookie); the survey pages have none, only the token in their address,
        which no forged form can know. So no CSRF token: whoever holds the link answers."""
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        answer = client.post(f"/s/{TOKEN}/", {"score": "9"}, HTTP_ORIGIN="https://elsewhere.example")
        assert answer.status_code == 303
        comment = client.post(f"/s/{TOKEN}/", {"score": "9", "comment": "Fine.", "step": "comment"})
        assert comment.status_code == 303
        assert (Response.objects.get().score, Response.objects.get().comment) == (9, "Fine.")
        assert Client(enforce_csrf_checks=True).post("/s/no-such-token/", {"score": "9"}).status_code == 404

    def test_after_sending_the_url_carries_no_score(self, client, invitation):
        answer = client.post(f"/s/{TOKEN}/?score=2", {"score": "9"})
        assert "score" not in answer["Location"]

    def test_an_invitation_closes_at_the_exact_expiry(self, client):
        from unittest import mock

        now = timezone.now()
        sent_invitation(token=TOKEN, expires_at=now)
        with mock.patch("django.utils.timezone.now", return_value=now - timedelta(microseconds=1)):
            assert client.get(f"/s/{TOKEN}/").status_code == 200
        with mock.patch("django.utils.timezone.now", return_value=now):
            assert client.get(f"/s/{TOKEN}/").status_code == 410

    @pytest.mark.parametrize("token", ["x", "a" * 300, "%00", "..", "not-a-token!"])
    def test_malformed_tokens_get_the_same_404(self, client, invitation, token):
        import re

        def page_of(answer) -> str:
            return re.sub(r'"X-CSRFToken": "[^"]+"', "", answer.content.decode())  # differs per request

        unknown = client.get("/s/unknown-token-of-normal-length/")
        answer = client.get(f"/s/{token}/")
        assert answer.status_code == 404
        assert page_of(answer) == page_of(unknown)


class TestTheChosenScoreHint:
    def test_a_score_from_the_email_says_press_send_to_record_it(self, client, invitation):
        page = client.get(f"/s/{TOKEN}/?score=3").content.decode()
        assert "You chose <strong>3</strong> — press Send to record it." in page
        assert 'value="3" checked data-chosen' in page
        assert Response.objects.count() == 0

    def test_without_a_score_in_the_link_there_is_no_hint(self, client, invitation):
        assert "press Send to record it" not in client.get(f"/s/{TOKEN}/").content.decode()

    def test_the_link_of_the_score_already_given_needs_no_hint(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "3"})
        assert "press Send to record it" not in client.get(f"/s/{TOKEN}/?score=3").content.decode()
        assert "You chose <strong>8</strong>" in client.get(f"/s/{TOKEN}/?score=8").content.decode()

    def test_the_hint_is_in_spanish_for_a_spanish_contact(self, client):
        sent_invitation(token=TOKEN, delivery__contact__language="es")
        page = client.get(f"/s/{TOKEN}/?score=0").content.decode()  # 0 is off the 1–10 scale: no hint
        assert "Ha elegido" not in page
        assert "Ha elegido <strong>4</strong>: pulse Enviar para registrarla." in client.get(f"/s/{TOKEN}/?score=4").content.decode()


class TestTheCommentIsConfirmed:
    def test_saving_a_comment_says_it_was_saved(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "6"})
        saved = client.post(f"/s/{TOKEN}/", {"score": "6", "comment": "The driver was kind.", "step": "comment"})
        assert saved.status_code == 303 and saved["Location"] == f"/s/{TOKEN}/thanks/?saved=comment"
        page = client.get(saved["Location"]).content.decode()
        assert "Your comment is saved." in page
        assert "The driver was kind." in page

    def test_the_thanks_page_after_the_score_does_not_claim_a_comment_was_saved(self, client, invitation):
        answer = client.post(f"/s/{TOKEN}/", {"score": "6", "comment": "Fine."})
        assert "Your comment is saved." not in client.get(answer["Location"]).content.decode()

    def test_the_comment_form_names_its_step(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "6"})
        assert 'name="step" value="comment"' in client.get(f"/s/{TOKEN}/thanks/").content.decode()

    def test_with_htmx_the_confirmation_is_swapped_in(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "6"})
        answer = client.post(
            f"/s/{TOKEN}/", {"score": "6", "comment": "Kind driver.", "step": "comment"}, headers={"HX-Request": "true"}
        )
        assert "Your comment is saved." in answer.content.decode()
        assert answer["HX-Push-Url"] == f"/s/{TOKEN}/thanks/"

    def test_emptying_the_comment_says_it_was_removed(self, client, invitation):
        client.post(f"/s/{TOKEN}/", {"score": "6", "comment": "Typo"})
        saved = client.post(f"/s/{TOKEN}/", {"score": "6", "comment": "", "step": "comment"})
        assert "Your comment was removed." in client.get(saved["Location"]).content.decode()


STAFF_LINKS = ('href="/"', "/login/", "/admin/", "/alerts/", "ValuePulse")


class TestWhoIsAsking:
    @pytest.fixture(autouse=True)
    def sender(self, settings):
        from tests.factories import SenderFactory

        settings.DEFAULT_FROM_EMAIL = "ValuePulse <surveys@valuepulse.localhost>"
        return SenderFactory(name="Acme Boilers", is_default=True, footer="Acme Boilers Ltd · Leeds", logo=True)

    def assert_carries_the_sender(self, html: str, sender) -> None:
        assert f'<span class="sender-name">{sender.name}</span>' in html
        assert f'src="{sender.logo_url}"' in html
        assert "Acme Boilers Ltd · Leeds" in html
        for link in STAFF_LINKS:
            assert link not in html

    def test_every_respondent_page_names_the_company_and_no_staff_page(self, client, invitation, sender):
        pages = [client.get(f"/s/{TOKEN}/?score=3"), client.get(f"/u/{TOKEN}/")]
        client.post(f"/s/{TOKEN}/", {"score": "3"})
        pages += [client.get(f"/s/{TOKEN}/thanks/"), client.post(f"/u/{TOKEN}/")]
        for page in pages:
            assert page.status_code == 200
            self.assert_carries_the_sender(page.content.decode(), sender)

    def test_the_closed_page_names_the_company(self, client, sender):
        sent_invitation(token=TOKEN, expires_at=timezone.now() - timedelta(seconds=1))
        page = client.get(f"/s/{TOKEN}/")
        assert page.status_code == 410
        self.assert_carries_the_sender(page.content.decode(), sender)

    @pytest.mark.parametrize("url", ["/s/unknown-token-of-normal-length/", "/s/x/thanks/", "/u/unknown/"])
    def test_a_bad_link_shows_the_default_sender_and_no_way_to_the_staff_side(self, client, sender, url):
        page = client.get(url)
        assert page.status_code == 404
        html = page.content.decode()
        assert "This link does not work" in html
        self.assert_carries_the_sender(html, sender)

    def test_a_survey_with_its_own_sender_shows_it(self, client, sender):
        from tests.factories import SenderFactory, SurveyFactory

        own = SenderFactory(name="Acme Solar")
        sent_invitation(token=TOKEN, delivery__survey=SurveyFactory(sender=own))
        html = client.get(f"/s/{TOKEN}/").content.decode()
        assert '<span class="sender-name">Acme Solar</span>' in html and "Acme Boilers" not in html
        assert "sender-logo" not in html  # it has no logo: the name alone

    def test_the_company_name_is_escaped(self, client, invitation, sender):
        sender.name = "<b>Acme</b>"
        sender.save()
        html = client.get(f"/s/{TOKEN}/").content.decode()
        assert "<b>Acme</b>" not in html and "&lt;b&gt;Acme&lt;/b&gt;" in html


class TestFavicon:
    def test_favicon_ico_answers_with_an_icon(self, client):
        answer = client.get("/favicon.ico")
        assert answer.status_code == 200
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        assert body.startswith(b"\x00\x00\x01\x00")  # an ICO file

    def test_the_pages_link_an_icon(self, client, invitation):
        assert 'rel="icon"' in client.get(f"/s/{TOKEN}/").content.decode()
        assert 'rel="icon"' in client.get("/login/").content.decode()


class TestRateLimit:
    def test_a_client_over_the_limit_gets_a_friendly_429(self, client, invitation, settings):
        from tests.support.services import clear_cache

        clear_cache()
        settings.PUBLIC_RATE_LIMIT = 5
        statuses = [client.get(f"/s/{TOKEN}/").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        limited = client.get(f"/s/{TOKEN}/thanks/", REMOTE_ADDR="127.0.0.1")
        assert limited.status_code == 429
        assert "Please wait a minute" in limited.content.decode()
        assert client.get(f"/s/{TOKEN}/", REMOTE_ADDR="10.0.0.2").status_code == 200

    def test_retry_after_is_what_is_left_of_the_minute(self, client, invitation, settings, monkeypatch):
        from types import SimpleNamespace

        from tests.support.services import clear_cache

        clear_cache()
        settings.PUBLIC_RATE_LIMIT = 1
        # 45 seconds into a minute, by the rate limit's clock.
        monkeypatch.setattr("core.ratelimit.time", SimpleNamespace(time=lambda: 1_800_000_000 + 45.0))
        client.get(f"/s/{TOKEN}/")
        limited = client.get(f"/s/{TOKEN}/")
        assert (limited.status_code, limited["Retry-After"]) == (429, "15")

    def test_the_unsubscribe_page_counts_apart_from_the_survey_pages(self, client, invitation, settings):
        from tests.support.services import clear_cache

        clear_cache()
        settings.PUBLIC_RATE_LIMIT = 2
        settings.UNSUBSCRIBE_RATE_LIMIT = 3
        [client.get(f"/s/{TOKEN}/") for _ in range(3)]
        statuses = [client.get(f"/u/{TOKEN}/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]

    def test_one_click_unsubscribes_count_apart_from_the_unsubscribe_pages(self, client, invitation, settings):
        from tests.support.services import clear_cache

        clear_cache()
        settings.UNSUBSCRIBE_RATE_LIMIT = 2
        statuses = [
            client.post(f"/u/{TOKEN}/", {"List-Unsubscribe": "One-Click"}).status_code for _ in range(10)
        ]
        assert statuses == [200] * 10
        assert client.get(f"/u/{TOKEN}/").status_code == 200

    def test_one_click_unsubscribes_have_their_own_limit(self, client, invitation, settings):
        from tests.support.services import clear_cache

        clear_cache()
        settings.ONE_CLICK_UNSUBSCRIBE_RATE_LIMIT = 3
        statuses = [
            client.post(f"/u/{TOKEN}/", {"List-Unsubscribe": "One-Click"}).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        assert client.get(f"/u/{TOKEN}/").status_code == 200
        from_another_address = client.post(f"/u/{TOKEN}/", {"List-Unsubscribe": "One-Click"}, REMOTE_ADDR="10.0.0.2")
        assert from_another_address.status_code == 200


class TestSpanish:
    @pytest.fixture
    def invitation(self):
        from surveys.models import SurveyText

        invitation = sent_invitation(token=TOKEN, delivery__contact__language="es")
        SurveyText.objects.update_or_create(
            survey=invitation.survey,
            language="es",
            defaults={
                "question": "¿Qué tan satisfecho está con {delivery}?",
                "email_subject": "¿Qué tal {delivery}?",
                "reminder_subject": "Recordatorio: {delivery}",
                "email_intro": "Hola, {contact_name}:",
                "email_signature": "Gracias",
            },
        )
        return invitation

    def test_the_page_speaks_the_contacts_language(self, client, invitation):
        page = client.get(f"/s/{TOKEN}/").content.decode()
        assert '<html lang="es">' in page
        assert "¿Qué tan satisfecho está con" in page and "Enviar" in page

    def test_errors_and_thanks_are_in_spanish_too(self, client, invitation):
        assert "Elija una puntuación de 1 a 10." in client.post(f"/s/{TOKEN}/", {"score": "0"}).content.decode()
        client.post(f"/s/{TOKEN}/", {"score": "9"})
        assert "¡Gracias!" in client.get(f"/s/{TOKEN}/thanks/").content.decode()

    def test_the_email_is_in_spanish(self, invitation):
        from surveys import emails

        message = emails.survey_invitation(invitation, token=TOKEN, unsubscribe_token="an-unsubscribe-token")
        assert message.subject == f"¿Qué tal {invitation.delivery.description}?"
        assert "Elija la puntuación que corresponda y pulse Enviar en la página que se abre:" in message.body
        assert "Darse de baja" in message.alternatives[0][0]


@pytest.mark.django_db(transaction=True)
def test_two_answers_posted_at_once_make_one_response_and_no_error():
    from django.test import Client

    from tests.support.concurrency import run_at_once

    invitation = sent_invitation(token=TOKEN)
    def answer(score: str):
        return lambda: Client().post(f"/s/{TOKEN}/", {"score": score}).status_code

    statuses = run_at_once(answer("3"), answer("8"))

    assert statuses == [303, 303]
    response = Response.objects.get(invitation=invitation)
    assert response.revisions == 1 and response.history.count() == 1


def statements(queries) -> list[str]:
    """The SQL statements run, by their first word, leaving out transaction control."""
    words = [query["sql"].split(None, 1)[0].upper() for query in queries]
    return [word for word in words if word not in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}]


class TestWhatEachRequestReads:
    """The public paths are the hot ones (issue 15): each reads and writes only what it must."""

    def test_the_survey_page_is_one_select_once_its_set_up_is_kept(self, client, invitation):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client.get(f"/s/{TOKEN}/")  # reads the sender and the texts (surveys/page_setup.py)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/s/{TOKEN}/").status_code == 200
        assert statements(queries) == ["SELECT"]

    def test_a_changed_answer_takes_its_customer_before_any_rollup_as_a_first_answer_does(self, client, invitation):
        """A first answer writes the customer's latest answer (statement one) before
        insights' rollups (statement two); a changed answer of another contact of the same
        customer must take the two in that order too, or each waits for the other: the
        load benchmark's deadlocks, answered 503."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        assert client.post(f"/s/{TOKEN}/", {"score": "3"}).status_code == 303
        with CaptureQueriesContext(connection) as queries:
            assert client.post(f"/s/{TOKEN}/", {"score": "3", "comment": "Late again", "step": "comment"}).status_code == 303
        sql = [query["sql"] for query in queries]
        takes_customer = ('SELECT "customers_customer"', 'UPDATE "customers_customer"')
        customer = next(n for n, text in enumerate(sql) if text.startswith(takes_customer))
        rollups = next(n for n, text in enumerate(sql) if "insights_" in text)
        assert customer < rollups, sql[: rollups + 1]

    def test_a_first_answer_is_a_lookup_a_claim_an_insert_and_the_latest_answer(self, client, invitation):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client.get(f"/s/{TOKEN}/")
        with CaptureQueriesContext(connection) as queries:
            assert client.post(f"/s/{TOKEN}/", {"score": "3"}).status_code == 303
        if connection.vendor == "postgresql":
            # The lookup; the claim, the answer and the customer's latest answer in one
            # statement; then insights' rollups, from invitation_answered, in one more
            # (the invitation's day answered, the latest answers' counts moved, the
            # latest answer and the day's count).
            assert statements(queries) == ["SELECT", "WITH", "WITH"]
        else:
            # The same, a statement each: the claim, the answer, the customer, insights.
            assert statements(queries) == [
                "SELECT", "UPDATE", "INSERT", "UPDATE", "UPDATE", "INSERT", "INSERT", "INSERT"
            ]

    def test_an_answer_arriving_while_the_first_is_recorded_becomes_its_revision(self, client, invitation):
        """The page was read before the first answer was saved: the claim finds the
        invitation answered, and the answer is recorded under the row's lock instead."""
        from surveys import services

        stale = services.invitation_for_token(TOKEN)
        client.post(f"/s/{TOKEN}/", {"score": "3"})
        services.record_response(invitation=stale, score=8)
        response = Response.objects.get()
        assert (response.score, response.revisions) == (8, 1)
        assert [revision.score for revision in response.history.all()] == [3]

    def test_the_customers_latest_answer_stays_the_newest(self, invitation):
        from surveys import services
        from tests.factories import answer_at

        customer = invitation.delivery.customer
        later = timezone.now() + timedelta(minutes=5)
        answer_at(customer, 9, later)
        services.refresh_latest_answers(customer_ids=[customer.pk])
        services.record_response(invitation=invitation, score=2)
        customer.refresh_from_db()
        assert (customer.latest_score, customer.latest_answer_at) == (9, later)

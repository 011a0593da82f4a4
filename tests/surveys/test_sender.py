"""Who is asking: the sender's name, address, reply-to, footer and logo on the survey
emails and pages, the default sender and a survey's own, and the wording that says a
score link only chooses (Send records)."""

from __future__ import annotations

from email.utils import parseaddr

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from surveys import logos, services
from surveys.admin import SenderForm
from surveys.models import Sender, Survey, SurveyText
from tests.factories import (
    ContactFactory,
    DeliveryFactory,
    InvitationFactory,
    SenderFactory,
    SurveyFactory,
    png_image,
    sent_invitation,
)

pytestmark = pytest.mark.django_db

TOKEN = "a-test-token-of-enough-length"


@pytest.fixture(autouse=True)
def mail_settings(settings):
    settings.SITE_URL = "https://survey.example.com"
    settings.DEFAULT_FROM_EMAIL = "ValuePulse <surveys@mail.example.com>"
    settings.SENDER_DOMAINS = []


def html_of(message) -> str:
    ((html, _),) = message.alternatives
    return html


def send_one(**delivery_fields):
    """Sends one due invitation through the outbox and returns the email that left."""
    InvitationFactory(delivery=DeliveryFactory(contact=ContactFactory(name="Jo Bloggs"), **delivery_fields))
    assert services.send_due_invitations() == 1
    (message,) = mail.outbox
    return message


class TestTheEmailSaysWhoIsAsking:
    def test_the_default_sender_names_the_email_and_keeps_the_sites_address(self):
        SenderFactory(name="Acme Boilers", is_default=True)
        message = send_one()
        assert message.from_email == "Acme Boilers <surveys@mail.example.com>"
        assert message.reply_to == []
        assert "Reply-To" not in message.message()

    def test_a_sender_name_address_reply_to_and_footer_reach_the_headers_and_both_parts(self):
        SenderFactory(
            name="Acme Boilers",
            is_default=True,
            from_name="Acme Boilers customer care",
            from_email="care@mail.example.com",
            reply_to="help@acme.example",
            footer="Acme Boilers Ltd · 1 High Street, Leeds",
        )
        message = send_one()
        headers = message.message()
        assert parseaddr(headers["From"]) == ("Acme Boilers customer care", "care@mail.example.com")
        assert headers["Reply-To"] == "help@acme.example"
        for part in (message.body, html_of(message)):
            assert "Acme Boilers Ltd · 1 High Street, Leeds" in part
            assert "Thank you for choosing Acme Boilers for" in part
            assert "The Acme Boilers customer care team" in part

    def test_the_html_shows_the_company_name_at_the_top(self):
        SenderFactory(name="Acme Boilers", is_default=True)
        html = html_of(send_one())
        assert html.index("Acme Boilers") < html.index("How satisfied are you")

    def test_a_survey_with_its_own_sender_uses_it_and_not_the_default(self):
        SenderFactory(name="Acme Boilers", is_default=True, reply_to="help@acme.example")
        own = SenderFactory(name="Acme Solar", reply_to="solar@acme.example", footer="Acme Solar, a trading name")
        message = send_one(survey=SurveyFactory(sender=own))
        assert message.from_email == "Acme Solar <surveys@mail.example.com>"
        assert message.reply_to == ["solar@acme.example"]
        assert "Acme Solar, a trading name" in message.body and "Acme Boilers" not in message.body

    def test_before_staff_name_a_sender_the_email_comes_from_default_from_email(self):
        assert not Sender.objects.exists()
        message = send_one()
        assert message.from_email == "ValuePulse <surveys@mail.example.com>"
        assert "Thank you for choosing ValuePulse for" in message.body

    def test_a_batch_of_several_surveys_gives_each_email_its_surveys_sender(self):
        SenderFactory(name="Acme Boilers", is_default=True)
        solar = SurveyFactory(sender=SenderFactory(name="Acme Solar"))
        for survey in (solar, solar, Survey.default(), Survey.default()):
            InvitationFactory(delivery=DeliveryFactory(survey=survey))
        assert services.send_due_invitations() == 4
        assert sorted(message.from_email.split(" <")[0] for message in mail.outbox) == [
            "Acme Boilers", "Acme Boilers", "Acme Solar", "Acme Solar"
        ]

    def test_the_headers_arrive_over_real_smtp(self, smtp_server):
        SenderFactory(name="Acme Boilers", is_default=True, from_email="care@mail.example.com", reply_to="help@acme.example")
        InvitationFactory()
        assert services.send_due_invitations() == 1
        (received,) = smtp_server.received()
        assert parseaddr(received["From"]) == ("Acme Boilers", "care@mail.example.com")
        assert received["Reply-To"] == "help@acme.example"


class TestTheEmailSaysChooseThenSend:
    def test_no_one_click_promise_and_the_two_steps_said_in_both_parts(self):
        message = send_one()
        for part in (message.body, html_of(message)):
            assert "one click" not in part.lower()
            assert "press Send" in part

    def test_the_spanish_email_says_it_too(self):
        invitation = sent_invitation(token=TOKEN, delivery__contact__language="es")
        SenderFactory(name="Calderas Acme", is_default=True)
        from surveys import emails

        message = emails.survey_invitation(invitation, token=TOKEN, unsubscribe_token="an-unsubscribe-token")
        assert "Elija la puntuación que corresponda y pulse Enviar en la página que se abre:" in message.body
        assert "Elija la puntuación que corresponda y pulse Enviar en la página que se abre:" in html_of(message)
        assert "Gracias por elegir a Calderas Acme para" in message.body
        assert "El equipo de atención al cliente de Calderas Acme" in message.body

    def test_the_default_surveys_texts_were_reworded_by_the_migration(self):
        survey = Survey.default()
        spanish = SurveyText.objects.get(survey=survey, language="es")
        assert "{company}" in survey.email_intro and "one click" not in survey.email_intro.lower()
        assert "{company}" in spanish.email_intro and "solo clic" not in spanish.email_intro
        assert "{company}" in survey.email_signature and "{company}" in spanish.email_signature


class TestSenderRules:
    def test_a_sender_address_outside_the_sites_domains_is_refused_naming_the_field(self):
        sender = Sender(name="Acme", from_email="care@acme.example")
        with pytest.raises(ValidationError) as refused:
            sender.full_clean()
        assert "mail.example.com" in refused.value.message_dict["from_email"][0]

    def test_sender_domains_lets_staff_use_another_domain(self, settings):
        settings.SENDER_DOMAINS = ["acme.example", "mail.example.com"]
        Sender(name="Acme", from_email="care@ACME.example").full_clean()

    def test_only_one_default_sender(self):
        SenderFactory(is_default=True)
        with pytest.raises(ValidationError):
            Sender(name="Another", is_default=True).full_clean()

    def test_a_sender_in_use_by_a_survey_cannot_be_deleted(self):
        from django.db.models import ProtectedError

        sender = SenderFactory()
        SurveyFactory(sender=sender)
        with pytest.raises(ProtectedError):
            sender.delete()


def sender_form(upload=None, **data):
    fields = {"name": "Acme Boilers", "from_name": "", "from_email": "", "reply_to": "", "footer": "", **data}
    return SenderForm(data=fields, files={"logo_file": upload} if upload else {})


class TestTheLogo:
    def test_a_png_is_kept_and_served_by_the_app_with_long_caching(self, client):
        form = sender_form(SimpleUploadedFile("logo.png", png_image(), content_type="image/png"))
        assert form.is_valid(), form.errors
        sender = form.save()
        answer = client.get(sender.logo_url)
        assert answer.status_code == 200
        assert answer["Content-Type"] == "image/png"
        assert answer.content == png_image()
        assert "immutable" in answer["Cache-Control"] and "max-age=31536000" in answer["Cache-Control"]
        assert answer["X-Content-Type-Options"] == "nosniff"

    @pytest.mark.parametrize(
        "name, content",
        [
            ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
            ("logo.png", b"<html><script>alert(1)</script></html>"),
            ("logo.pdf", b"%PDF-1.4 ..."),
        ],
    )
    def test_anything_but_a_raster_image_is_refused_naming_the_logo(self, name, content):
        form = sender_form(SimpleUploadedFile(name, content, content_type="image/png"))
        assert not form.is_valid()
        assert form.errors["logo_file"] == ["The logo must be a PNG, JPEG, GIF or WebP image (SVG is not accepted)."]

    def test_a_logo_over_the_size_limit_is_refused_saying_the_limit(self):
        big = png_image() + b"\0" * logos.MAX_BYTES
        form = sender_form(SimpleUploadedFile("logo.png", big, content_type="image/png"))
        assert not form.is_valid()
        assert "keep it to 100 KB" in form.errors["logo_file"][0]

    @pytest.mark.parametrize(
        "content, content_type",
        [(b"\xff\xd8\xff\xe0rest", "image/jpeg"), (b"GIF89a...", "image/gif"), (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp")],
    )
    def test_jpeg_gif_and_webp_are_taken(self, content, content_type):
        assert logos.image_type(content) == content_type

    def test_removing_the_logo_leaves_the_name(self, client):
        sender = SenderFactory(logo=True)
        old_url = sender.logo_url
        form = SenderForm(
            instance=sender, data={"name": sender.name, "remove_logo": "on", "from_name": "", "from_email": "",
                                   "reply_to": "", "footer": ""}
        )
        assert form.is_valid(), form.errors
        form.save()
        assert Sender.objects.get().logo_url == ""
        assert client.get(old_url).status_code == 404

    def test_an_unknown_logo_is_a_404(self, client):
        assert client.get(f"/logo/{'0' * 64}/").status_code == 404


class TestStaffEditTheSenderInTheAdmin:
    def form(self, **fields):
        return {"name": "Acme Boilers", "from_name": "", "from_email": "", "reply_to": "", "footer": "", **fields}

    def test_staff_add_the_default_sender_with_a_logo(self, admin_client):
        upload = SimpleUploadedFile("logo.png", png_image(), content_type="image/png")
        answer = admin_client.post(
            "/admin/surveys/sender/add/",
            self.form(is_default="on", reply_to="help@acme.example", logo_file=upload),
        )
        assert answer.status_code == 302, answer.content.decode()
        sender = Sender.default()
        assert (sender.name, sender.reply_to, sender.logo_type) == ("Acme Boilers", "help@acme.example", "image/png")
        page = admin_client.get(f"/admin/surveys/sender/{sender.pk}/change/").content.decode()
        assert f'src="{sender.logo_url}"' in page  # the current logo, shown

    def test_an_svg_logo_is_refused_on_the_form_naming_the_logo(self, admin_client):
        upload = SimpleUploadedFile("logo.svg", b"<svg><script>alert(1)</script></svg>", content_type="image/svg+xml")
        answer = admin_client.post("/admin/surveys/sender/add/", self.form(logo_file=upload))
        assert answer.status_code == 200
        assert "The logo must be a PNG, JPEG, GIF or WebP image (SVG is not accepted)." in answer.content.decode()
        assert not Sender.objects.exists()

    def test_a_sender_address_at_another_domain_is_refused_on_the_form(self, admin_client):
        answer = admin_client.post("/admin/surveys/sender/add/", self.form(from_email="care@elsewhere.example"))
        assert answer.status_code == 200
        assert "Mail may only come from mail.example.com (SENDER_DOMAINS)" in answer.content.decode()

    def test_the_survey_form_offers_the_senders_and_the_texts_in_other_languages(self, admin_client):
        SenderFactory(name="Acme Solar")
        survey = Survey.default()
        page = admin_client.get(f"/admin/surveys/survey/{survey.pk}/change/").content.decode()
        assert "Acme Solar" in page and "texts in other languages" in page.lower()

    def test_the_audit_trail_records_the_change_and_only_the_logos_digest(self, admin_client):
        from auditlog.models import LogEntry

        upload = SimpleUploadedFile("logo.png", png_image(), content_type="image/png")
        admin_client.post("/admin/surveys/sender/add/", self.form(logo_file=upload))
        sender = Sender.objects.get(name="Acme Boilers")
        (entry,) = LogEntry.objects.get_for_object(sender)
        assert entry.changes_dict["name"] == ["None", "Acme Boilers"]
        assert "logo_digest" in entry.changes_dict and "logo" not in entry.changes_dict
        assert entry.actor.username == "admin"

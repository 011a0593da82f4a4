"""The survey pages' written-out token lookup (surveys/link_lookup.py) reads what the ORM
would read, each value into its own field."""

import base64

import pytest
from django.db.models.signals import post_init
from django.utils.crypto import salted_hmac

from surveys.link_lookup import READ, in_field_order
from surveys.models import Invitation, link_token
from surveys.outbox import BATCH_READ, _read_invitations
from surveys.services import invitation_for_token
from tests.factories import sent_invitation

pytestmark = pytest.mark.django_db


def test_the_columns_read_are_put_in_the_order_of_the_model_fields():
    assert in_field_order(Invitation, ("status", "id", "delivery_id")) == ("id", "delivery_id", "status")
    for model, _, names in READ:
        assert names == in_field_order(model, names), model


def test_the_lookup_gives_each_field_the_value_the_orm_reads():
    made = sent_invitation(token="a-lookup-token-of-enough-length")
    found = invitation_for_token("a-lookup-token-of-enough-length")
    stored = Invitation.objects.select_related("delivery__survey", "contact").get(pk=made.pk)
    for model, _, names in READ:
        mine = {"Invitation": found, "Delivery": found.delivery, "Survey": found.delivery.survey,
                "Contact": found.contact}.get(model.__name__)
        theirs = {"Invitation": stored, "Delivery": stored.delivery, "Survey": stored.delivery.survey,
                  "Contact": stored.contact}.get(model.__name__)
        if mine is None:  # the answer's: none yet
            assert model.__name__ == "Response" and not hasattr(found, "response")
            continue
        assert {name: getattr(mine, name) for name in names} == {name: getattr(theirs, name) for name in names}


def test_an_unknown_token_opens_nothing():
    assert invitation_for_token("no-such-token-of-enough-length") is None


def test_the_outbox_reads_a_batch_of_invitations_in_one_query_with_what_the_orm_reads(django_assert_num_queries):
    made = [sent_invitation(token=f"a-batch-token-{number}-of-enough-length") for number in range(3)]
    with django_assert_num_queries(1):
        found = _read_invitations([invitation.pk for invitation in made])
        read = {pk: (invitation, invitation.delivery, invitation.delivery.customer, invitation.contact)
                for pk, invitation in found.items()}
    assert set(found) == {invitation.pk for invitation in made}
    for invitation in made:
        stored = Invitation.objects.select_related("delivery__customer", "contact").get(pk=invitation.pk)
        theirs = (stored, stored.delivery, stored.delivery.customer, stored.contact)
        for (model, _, names), mine, expected in zip(BATCH_READ, read[invitation.pk], theirs, strict=True):
            assert type(mine) is model
            assert {name: getattr(mine, name) for name in names} == {name: getattr(expected, name) for name in names}


def test_a_batch_read_finds_nothing_for_no_ids():
    assert _read_invitations([]) == {}


def test_a_link_token_is_the_salted_hmac_of_its_purpose_and_invitation_under_the_secret_key(settings):
    for secret in ("one-secret-key-for-this-test", "another-secret-key-for-this-test"):
        settings.SECRET_KEY = secret
        digest = salted_hmac("valuepulse.invitation-link", "survey:42", algorithm="sha256").digest()
        assert link_token(invitation_id=42, purpose="survey") == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_model_with_an_init_receiver_is_still_made_by_django():
    made = sent_invitation(token="a-receiver-token-of-enough-length")
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Invitation)
    try:
        found = invitation_for_token("a-receiver-token-of-enough-length")
    finally:
        post_init.disconnect(receiver, sender=Invitation)
    assert found.pk == made.pk and seen == [found]

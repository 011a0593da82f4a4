"""The survey pages' written-out token lookup (surveys/link_lookup.py) reads what the ORM
would read, each value into its own field."""

import pytest

from surveys.link_lookup import READ, _in_field_order
from surveys.models import Invitation
from surveys.services import invitation_for_token
from tests.factories import sent_invitation

pytestmark = pytest.mark.django_db


def test_the_columns_read_are_put_in_the_order_of_the_model_fields():
    assert _in_field_order(Invitation, ("status", "id", "delivery_id")) == ("id", "delivery_id", "status")
    for model, _, names in READ:
        assert names == _in_field_order(model, names), model


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

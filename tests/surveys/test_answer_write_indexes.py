"""The indexes an answer writes: only those something reads (issue 15). Each index on
the invitation and the response is one more write for every answer."""

from __future__ import annotations

import pytest
from django.db import connection

from customers.models import Customer
from insights.models import LatestAnswer
from surveys import services
from surveys.models import Invitation, Response
from tests.factories import sent_invitation
from tests.support.services import require_postgresql

pytestmark = pytest.mark.django_db


def index_definitions(model) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [model._meta.db_table])
        return dict(cursor.fetchall())


class TestAnswerWriteIndexes:
    def test_link_token_hashes_have_their_unique_indexes_and_no_prefix_copies(self):
        require_postgresql()
        definitions = index_definitions(Invitation).values()
        for column in ("token_hash", "reminder_token_hash", "unsubscribe_token_hash"):
            on_column = [d for d in definitions if d.endswith(f"({column})")]
            assert len(on_column) == 1 and "UNIQUE" in on_column[0], on_column
        assert not [d for d in definitions if "varchar_pattern_ops" in d]

    def test_an_answers_customer_is_indexed_once_first_in_its_latest_answer_index(self):
        require_postgresql()
        leading_customer = [d for d in index_definitions(Response).values() if "btree (customer_id" in d]
        assert len(leading_customer) == 2  # the latest answer, and the partial one of possible scanners
        assert not [d for d in leading_customer if d.endswith("(customer_id)")]

    def test_a_latest_answers_customer_is_indexed_once_by_its_unique_constraint(self):
        require_postgresql()
        leading_customer = [d for d in index_definitions(LatestAnswer).values() if "btree (customer_id" in d]
        assert len(leading_customer) == 1
        assert "UNIQUE" in leading_customer[0] and leading_customer[0].endswith("(customer_id, survey_key)")

    def test_a_customers_answers_are_found_through_the_latest_answer_index(self):
        require_postgresql()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN SELECT id FROM {Response._meta.db_table} WHERE customer_id = 1")
            plan = " ".join(row[0] for row in cursor.fetchall())
        assert "response_customer_latest_idx" in plan


def customer_updates() -> tuple[int, int]:
    """The customer rows this transaction updated so far, and how many of those in place
    (HOT). The test's set-up counts too: what the answer does is the difference."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
            [Customer._meta.db_table] * 2,
        )
        return cursor.fetchone()


class TestAFirstAnswersWrites:
    def test_it_updates_its_customer_in_place_adding_no_index_entry(self):
        """A HOT update: no indexed column of the customer changes (pg_stat's count of
        this transaction's HOT updates says so)."""
        require_postgresql()
        invitation = sent_invitation(token="hot-update-token-of-normal-length")
        found = services.invitation_for_token("hot-update-token-of-normal-length")
        before = customer_updates()

        services.record_response(invitation=found, score=4)

        updated, hot = customer_updates()
        assert (updated - before[0], hot - before[1]) == (1, 1)
        assert Customer.objects.get(pk=invitation.delivery.customer_id).latest_score == 4

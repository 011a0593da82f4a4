"""The outbox: claimed in a short transaction, sent outside it, the outcome recorded after."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from core import outbox
from core.models import OutgoingMessage
from tests.support.concurrency import run_at_once
from tests.support.services import require_postgresql
from tests.support.smtp import REFUSED_DOMAIN, TRANSIENT_RECIPIENT

pytestmark = pytest.mark.django_db

Status = OutgoingMessage.Status
BROKEN = 13  # the object whose message cannot be built
UNWANTED = 7  # the object whose message must no longer go


class Notes:
    """A kind of message for these tests: a note to person<id>@example.com, or to the
    address set for an id. It records what the outbox told it."""

    def __init__(self) -> None:
        self.addresses: dict[int, str] = {}
        self.sent: list[int] = []
        self.given_up: list[tuple[int, str]] = []

    def build(self, message: OutgoingMessage) -> EmailMessage:
        if message.object_id == BROKEN:
            raise ValueError("Header values can't contain newlines")
        if message.object_id == UNWANTED:
            raise outbox.Unwanted("opted_out")
        to = self.addresses.get(message.object_id, f"person{message.object_id}@example.com")
        return EmailMessage(subject=f"Note {message.object_id}", body="Hello", to=[to])

    def on_sent(self, message: OutgoingMessage) -> None:
        self.sent.append(message.object_id)

    def on_given_up(self, message: OutgoingMessage) -> None:
        self.given_up.append((message.object_id, message.status))


@pytest.fixture
def notes():
    kind = Notes()
    outbox.register("test-note", outbox.MessageKind(build=kind.build, sent=kind.on_sent, given_up=kind.on_given_up))
    yield kind
    outbox._KINDS.pop("test-note")


class BulkNotes(Notes):
    """Notes whose kind reads a whole batch at once (build_many)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False  # reading the batch fails
        self.batches: list[list[int]] = []

    def build_many(self, messages: list[OutgoingMessage]):
        if self.broken:
            raise RuntimeError("the batch could not be read")
        self.batches.append(sorted(message.object_id for message in messages))
        return self.build


class BatchNotes(Notes):
    """Notes whose app hears of a batch's sent messages at once (sent_many)."""

    def on_sent_many(self, messages: list[OutgoingMessage]) -> None:
        self.sent.extend(message.object_id for message in messages)


@pytest.fixture
def bulk_notes():
    kind = BulkNotes()
    outbox.register(
        "test-note",
        outbox.MessageKind(build=kind.build, build_many=kind.build_many, sent=kind.on_sent, given_up=kind.on_given_up),
    )
    yield kind
    outbox._KINDS.pop("test-note")


def queue(*object_ids: int) -> list[OutgoingMessage]:
    return [outbox.queue(kind="test-note", object_id=object_id) for object_id in object_ids]


def subjects(sink) -> list[str]:
    return sorted(str(message["Subject"]) for message in sink.received())


def row(object_id: int) -> OutgoingMessage:
    return OutgoingMessage.objects.get(kind="test-note", object_id=object_id)


class TestSending:
    def test_queued_messages_are_sent_once_over_smtp_and_recorded(self, notes, smtp_server):
        queue(1, 2, 3)

        assert outbox.send_due() == 3
        assert outbox.send_due() == 0

        assert subjects(smtp_server) == ["Note 1", "Note 2", "Note 3"]
        assert smtp_server.connections == 1
        for object_id in (1, 2, 3):
            message = row(object_id)
            assert (message.status, message.attempts, message.recipient) == (
                Status.SENT, 1, f"person{object_id}@example.com"
            )
            assert message.sent_at is not None and message.claimed_at is None
        assert sorted(notes.sent) == [1, 2, 3]

    def test_the_same_key_queued_twice_is_one_message(self, notes, smtp_server):
        queue(1)
        queue(1)
        outbox.send_due()
        assert subjects(smtp_server) == ["Note 1"]

    def test_a_message_due_later_waits(self, notes, smtp_server):
        outbox.queue(kind="test-note", object_id=1, at=timezone.now() + timedelta(hours=1))
        assert outbox.send_due() == 0
        assert outbox.send_due(now=timezone.now() + timedelta(hours=2)) == 1

    def test_many_queued_at_once_are_each_one_message_due_then(self, notes, smtp_server):
        later = timezone.now() + timedelta(hours=1)
        outbox.queue_many(kind="test-note", object_ids=[1, 2, 2, 3], at=later)

        queued = OutgoingMessage.objects.order_by("object_id")
        assert [(message.key, message.status, message.attempts, message.next_attempt_at) for message in queued] == [
            (f"test-note:{object_id}", Status.QUEUED, 0, later) for object_id in (1, 2, 3)
        ]
        assert all(message.created_at and message.updated_at for message in queued)
        assert outbox.send_due() == 0
        assert outbox.send_due(now=later) == 3

    def test_queued_again_at_once_a_failed_message_goes_afresh_and_a_sent_one_stays_sent(self, notes, smtp_server):
        notes.addresses[2] = f"nobody@{REFUSED_DOMAIN}"
        outbox.queue_many(kind="test-note", object_ids=[1, 2])
        outbox.send_due()
        assert (row(1).status, row(2).status) == (Status.SENT, Status.FAILED)
        notes.addresses[2] = "fixed@example.com"

        outbox.queue_many(kind="test-note", object_ids=[1, 2])

        assert (row(1).status, row(1).attempts) == (Status.SENT, 1)
        assert (row(2).status, row(2).attempts, row(2).last_error) == (Status.QUEUED, 0, "")
        assert outbox.send_due() == 1
        assert subjects(smtp_server) == ["Note 1", "Note 2"]

    def test_an_unregistered_kind_cannot_be_queued(self, db):
        with pytest.raises(ValueError, match="No outbox kind 'nothing'"):
            outbox.queue(kind="nothing", object_id=1)


class TestWhatIsRecorded:
    def test_the_recipient_is_kept_as_a_bare_address_and_the_message_id_as_sent(self, notes, smtp_server):
        notes.addresses[1] = "Ana López <Ana.Lopez@Example.com>"
        queue(1)
        outbox.send_due()

        (received,) = smtp_server.received()
        assert row(1).recipient == "ana.lopez@example.com"
        assert row(1).provider_message_id == received["Message-ID"]


class TestOneConnectionASweep:
    def test_the_batches_of_one_sweep_share_one_smtp_connection(self, notes, smtp_server):
        queue(1, 2, 3, 4, 5)

        assert outbox.send_due(batch_size=2) == 5

        assert subjects(smtp_server) == ["Note 1", "Note 2", "Note 3", "Note 4", "Note 5"]
        assert smtp_server.connections == 1

    def test_each_sweep_opens_its_own(self, notes, smtp_server):
        queue(1, 2)
        assert outbox.send_due(batch_size=1) == 2
        queue(3)
        assert outbox.send_due(batch_size=1) == 1

        assert smtp_server.connections == 2


class TestBuildingABatchAtOnce:
    def test_a_kind_that_can_reads_each_batch_once(self, bulk_notes, smtp_server):
        queue(1, 2, 3)

        assert outbox.send_due(batch_size=2) == 3

        assert bulk_notes.batches == [[1, 2], [3]]
        assert subjects(smtp_server) == ["Note 1", "Note 2", "Note 3"]
        assert sorted(bulk_notes.sent) == [1, 2, 3]

    def test_a_message_that_cannot_be_built_still_fails_alone(self, bulk_notes, smtp_server):
        queue(1, BROKEN, UNWANTED, 4)

        assert outbox.send_due() == 2

        assert subjects(smtp_server) == ["Note 1", "Note 4"]
        assert (row(BROKEN).status, row(UNWANTED).status) == (Status.FAILED, Status.SUPPRESSED)

    def test_when_the_batch_cannot_be_read_each_message_is_built_alone(self, bulk_notes, smtp_server, caplog):
        bulk_notes.broken = True
        queue(1, 2)

        assert outbox.send_due() == 2

        assert subjects(smtp_server) == ["Note 1", "Note 2"]
        assert "building them one by one" in caplog.text


class TestOneBadMessage:
    def test_a_message_that_cannot_be_built_fails_alone_with_its_reason(self, notes, smtp_server):
        queue(1, 2, BROKEN, 4, 5)

        assert outbox.send_due() == 4
        outbox.send_due(now=timezone.now() + timedelta(days=1))

        assert subjects(smtp_server) == ["Note 1", "Note 2", "Note 4", "Note 5"]
        broken = row(BROKEN)
        assert broken.status == Status.FAILED
        assert "Header values can't contain newlines" in broken.last_error
        assert notes.given_up == [(BROKEN, Status.FAILED)]

    def test_a_permanently_refused_recipient_fails_alone(self, notes, smtp_server):
        notes.addresses[2] = f"nobody@{REFUSED_DOMAIN}"
        queue(1, 2, 3)

        assert outbox.send_due() == 2

        assert subjects(smtp_server) == ["Note 1", "Note 3"]
        assert row(2).status == Status.FAILED
        assert "550" in row(2).last_error

    def test_a_transient_refusal_is_tried_again_after_the_backoff(self, notes, smtp_server):
        notes.addresses[1] = TRANSIENT_RECIPIENT
        queue(1)
        started = timezone.now()

        assert outbox.send_due() == 0
        waiting = row(1)
        assert (waiting.status, waiting.attempts) == (Status.QUEUED, 1)
        assert "451" in waiting.last_error
        assert timedelta(seconds=55) < waiting.next_attempt_at - started < timedelta(seconds=65)

        notes.addresses[1] = "person1@example.com"
        assert outbox.send_due() == 0  # not yet
        assert outbox.send_due(now=started + timedelta(minutes=2)) == 1
        assert row(1).status == Status.SENT

    def test_transient_failures_give_up_after_the_last_attempt(self, notes, smtp_server):
        notes.addresses[1] = TRANSIENT_RECIPIENT
        queue(1)
        later = timezone.now()
        for _ in range(5):
            later += timedelta(hours=1)
            outbox.send_due(now=later)
        message = row(1)
        assert (message.status, message.attempts) == (Status.FAILED, 5)
        assert notes.given_up == [(1, Status.FAILED)]

    def test_an_unwanted_message_is_suppressed_with_the_reason(self, notes, smtp_server):
        queue(UNWANTED, 1)

        assert outbox.send_due() == 1

        assert subjects(smtp_server) == ["Note 1"]
        assert (row(UNWANTED).status, row(UNWANTED).last_error) == (Status.SUPPRESSED, "opted_out")
        assert notes.given_up == [(UNWANTED, Status.SUPPRESSED)]

    def test_staff_can_queue_a_failed_message_again(self, notes, smtp_server):
        notes.addresses[2] = f"nobody@{REFUSED_DOMAIN}"
        queue(2)
        outbox.send_due()
        notes.addresses[2] = "fixed@example.com"

        assert outbox.requeue(row(2))
        assert outbox.send_due() == 1
        assert row(2).status == Status.SENT


class TestUnreachableServer:
    def test_the_batch_waits_without_counting_an_attempt(self, notes, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
        queue(1, 2)

        assert outbox.send_due() == 0

        assert {(m.status, m.attempts) for m in OutgoingMessage.objects.all()} == {(Status.QUEUED, 0)}


class TestDeadWorker:
    def test_what_a_dead_worker_left_sending_goes_again_after_the_timeout(self, notes, smtp_server):
        queue(1, 2)
        claimed = outbox._claim(timezone.now(), 50)  # a worker that dies right after claiming
        assert len(claimed) == 2

        assert outbox.send_due() == 0
        assert outbox.release_stuck() == 0  # not yet: it may still be working
        assert outbox.release_stuck(now=timezone.now() + outbox.sending_timeout() + timedelta(seconds=1)) == 2
        assert outbox.send_due() == 2

        assert subjects(smtp_server) == ["Note 1", "Note 2"]

    def test_a_worker_back_from_the_dead_does_not_overwrite_the_new_outcome(self, notes, smtp_server):
        queue(1)
        (stale,) = outbox._claim(timezone.now(), 50)
        outbox.release_stuck(now=timezone.now() + outbox.sending_timeout() + timedelta(seconds=1))
        outbox.send_due()

        outbox._record_failure(stale, "late news from the first worker", permanent=True)

        assert row(1).status == Status.SENT
        assert notes.given_up == []


class TestOneDuplicateAtMost:
    """A worker that dies mid-batch leaves one message at most sent but not recorded:
    each outcome is recorded before the mail server can accept the next message, that
    is before the next one's data is written (core.smtp)."""

    def test_each_outcome_is_recorded_before_the_next_message_can_be_accepted(self, notes, smtp_server, monkeypatch):
        queue(1, 2, UNWANTED, 4, 5)
        recorded_when_data_went = []
        send = smtplib.SMTP.send

        def watching_send(smtp, data):
            if isinstance(data, bytes) and data.endswith(b"\r\n.\r\n"):  # a message's data: it may be accepted now
                recorded_when_data_went.append(OutgoingMessage.objects.filter(status=Status.SENT).count())
            return send(smtp, data)

        monkeypatch.setattr(smtplib.SMTP, "send", watching_send)

        assert outbox.send_due() == 4

        assert recorded_when_data_went == [0, 1, 2, 3]
        assert OutgoingMessage.objects.filter(status=Status.SENT).count() == 4

    @pytest.mark.django_db(transaction=True)
    def test_a_kind_told_once_a_batch_has_each_outcome_committed_before_the_next_data_goes(self, smtp_server,
                                                                                        monkeypatch):
        # Each outcome is one UPDATE in autocommit, while the next MAIL FROM is on its
        # way: committed before the next message's data goes, as another connection sees.
        require_postgresql()
        monkeypatch.setattr("core.outbox.enqueue_on_commit", lambda *args, **kwargs: None)  # this test sends
        kind = BatchNotes()
        outbox.register("test-note", outbox.MessageKind(build=kind.build, sent_many=kind.on_sent_many))
        try:
            queue(1, 2, 3, 4)
            committed_when_data_went = []
            send = smtplib.SMTP.send
            other = connections.create_connection(DEFAULT_DB_ALIAS)

            def watching_send(smtp, data):
                if isinstance(data, bytes) and data.endswith(b"\r\n.\r\n"):  # a message's data: it may be accepted now
                    with other.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM core_outgoingmessage WHERE status = 'sent'")
                        committed_when_data_went.append(cursor.fetchone()[0])
                return send(smtp, data)

            monkeypatch.setattr(smtplib.SMTP, "send", watching_send)

            assert outbox.send_due() == 4
            other.close()
        finally:
            outbox._KINDS.pop("test-note")

        assert committed_when_data_went == [0, 1, 2, 3]
        assert sorted(kind.sent) == [1, 2, 3, 4]
        assert not OutgoingMessage.objects.exclude(status=Status.SENT).exists()

    def test_a_refused_message_does_not_keep_the_one_before_from_being_recorded(self, notes, smtp_server):
        notes.addresses[2] = f"nobody@{REFUSED_DOMAIN}"
        queue(1, 2)

        assert outbox.send_due() == 1

        assert (row(1).status, row(2).status) == (Status.SENT, Status.FAILED)
        assert notes.sent == [1]


class TestClaiming:
    def test_a_claim_takes_the_oldest_due_first_and_counts_an_attempt(self, notes):
        now = timezone.now()
        for object_id, minutes_ago in [(1, 5), (2, 10), (3, 1)]:
            outbox.queue(kind="test-note", object_id=object_id, at=now - timedelta(minutes=minutes_ago))
        outbox.queue(kind="test-note", object_id=4, at=now + timedelta(minutes=1))

        claimed = outbox._claim(now, 2)

        assert [message.object_id for message in claimed] == [2, 1]
        for message in claimed:
            assert (message.status, message.attempts, message.claimed_at) == (Status.SENDING, 1, now)
            assert (row(message.object_id).status, row(message.object_id).attempts) == (Status.SENDING, 1)
        assert {row(3).status, row(4).status} == {Status.QUEUED}

    def test_a_claim_by_keys_takes_only_those_messages(self, notes):
        queue(1, 2, 3)

        claimed = outbox._claim(timezone.now(), 5, keys=["test-note:1", "test-note:3"])

        assert sorted(message.object_id for message in claimed) == [1, 3]
        assert row(2).status == Status.QUEUED

    @pytest.mark.django_db(transaction=True)
    def test_two_workers_claiming_at_once_never_take_the_same_message(self, notes, monkeypatch):
        require_postgresql()
        monkeypatch.setattr("core.outbox.enqueue_on_commit", lambda task: None)  # no worker sends them first
        queue(*range(1, 41))
        now = timezone.now()

        first, second = run_at_once(*[lambda: {message.pk for message in outbox._claim(now, 25)}] * 2)

        assert not first & second
        assert len(first | second) == 40


class TestAdmin:
    def test_staff_see_failed_messages_and_send_them_again(self, notes, smtp_server, admin_client):
        from django.urls import reverse

        notes.addresses[2] = f"nobody@{REFUSED_DOMAIN}"
        queue(2)
        outbox.send_due()
        listing = admin_client.get(reverse("admin:core_outgoingmessage_changelist"), {"status__exact": "failed"})
        assert "test-note:2" in listing.content.decode()

        notes.addresses[2] = "fixed@example.com"
        admin_client.post(
            reverse("admin:core_outgoingmessage_changelist"),
            {"action": "send_again", "_selected_action": [row(2).pk]},
        )
        assert outbox.send_due() == 1
        assert row(2).status == Status.SENT

from __future__ import annotations

import struct
import zlib
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.models import OutgoingMessage
from customers.models import HIGH_VALUE_TIERS, Contact, Customer, Invoice
from insights.alerts import rules as alert_rules
from insights.models import Alert, AlertKind
from surveys.models import Delivery, Invitation, InvitationStatus, Response, Sender, Survey, hash_token


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    is_staff = True


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    class Params:
        # An average days late as pages show it (any day), kept as the customer keeps it:
        # days late of paid invoices over their count.
        avg_days_late = None

    external_id = factory.Sequence(lambda n: f"CRM-{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    decided_invoices = factory.LazyAttribute(lambda customer: paid_lateness(customer.avg_days_late)[0])
    days_late_paid = factory.LazyAttribute(lambda customer: paid_lateness(customer.avg_days_late)[1])


def paid_lateness(average: float | None) -> tuple[int, int]:
    """(invoices, days late added up) of paid invoices averaging `average` days late."""
    if average is None:
        return 0, 0
    fraction = Fraction(average).limit_denominator(1000)
    return fraction.denominator, fraction.numerator


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    name = factory.Sequence(lambda n: f"Contact {n}")


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"INV-{n:06d}")
    amount = Decimal("1000.00")
    issued_on = factory.LazyFunction(lambda: date.today() - timedelta(days=60))
    due_on = factory.LazyAttribute(lambda invoice: invoice.issued_on + timedelta(days=30))
    paid_on = factory.LazyAttribute(lambda invoice: invoice.due_on)


class SentMessageFactory(factory.django.DjangoModelFactory):
    """An outbox row that left an hour ago, with the id the provider gave it."""

    class Meta:
        model = OutgoingMessage

    key = factory.Sequence(lambda n: f"test-message:{n}")
    kind = "test-message"
    object_id = factory.Sequence(lambda n: n)
    recipient = factory.Sequence(lambda n: f"person{n}@example.com")
    status = OutgoingMessage.Status.SENT
    attempts = 1
    sent_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    provider_message_id = factory.Sequence(lambda n: f"provider-message-{n}")


class ApiUserFactory(UserFactory):
    """A user who reaches the API with tokens only. Nothing to hash keeps tests that build
    many users fast."""

    password = "!"  # how Django marks an unusable password


class ApiStaffFactory(ApiUserFactory):
    is_staff = True


class SurveyFactory(factory.django.DjangoModelFactory):
    """A survey with the default settings (the data migration's default survey is
    `Survey.default()`)."""

    class Meta:
        model = Survey

    slug = factory.Sequence(lambda n: f"survey-{n}")
    name = factory.Sequence(lambda n: f"Survey {n}")


def png_image(width: int = 2, height: int = 1, rgba: tuple[int, int, int, int] = (15, 118, 110, 255)) -> bytes:
    """A real PNG of one colour, for logos."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgba) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class SenderFactory(factory.django.DjangoModelFactory):
    """Who is asking; `logo=True` gives it a small PNG logo."""

    class Meta:
        model = Sender
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Company {n}")

    @factory.post_generation
    def logo(sender, create, extracted, **kwargs):
        if extracted:
            sender.set_logo(png_image(), "image/png")
            if create:
                sender.save()


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    customer = factory.SubFactory(CustomerFactory)
    contact = factory.SubFactory(ContactFactory, customer=factory.SelfAttribute("..customer"))
    reference = factory.Sequence(lambda n: f"ORDER-{n:06d}")
    delivered_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    description = "your delivery"
    survey = factory.LazyFunction(Survey.default)


class InvitationFactory(factory.django.DjangoModelFactory):
    """A scheduled invitation, due now. Build sent ones with `sent_invitation()`."""

    class Meta:
        model = Invitation

    delivery = factory.SubFactory(DeliveryFactory)
    contact = factory.SelfAttribute("delivery.contact")
    status = InvitationStatus.SCHEDULED
    scheduled_for = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.SelfAttribute("scheduled_for")
    expires_at = factory.LazyAttribute(lambda invitation: invitation.scheduled_for + timedelta(days=14))


def sent_invitation(*, token: str = "a-test-token-of-enough-length", sent_at=None, **fields) -> Invitation:
    """An invitation whose email went out with `token` in its links."""
    sent_at = sent_at or timezone.now() - timedelta(hours=1)
    fields.setdefault("scheduled_for", sent_at)
    return InvitationFactory(
        status=InvitationStatus.SENT,
        sent_at=sent_at,
        next_attempt_at=None,
        remind_at=sent_at + timedelta(days=3),
        token_hash=hash_token(token),
        **fields,
    )


def many_sent_invitations(tokens: list[str], *, sent_at=None) -> list[Invitation]:
    """What sent_invitation makes, for each of `tokens` (each to a customer of its own),
    written by one bulk INSERT a table instead of four INSERTs a token: for the
    benchmarks, which need thousands."""
    sent_at = sent_at or timezone.now() - timedelta(hours=1)
    survey = Survey.default()
    customers = Customer.objects.bulk_create(CustomerFactory.build_batch(len(tokens)), batch_size=2000)
    contacts = Contact.objects.bulk_create([ContactFactory.build(customer=customer) for customer in customers],
                                           batch_size=2000)
    deliveries = Delivery.objects.bulk_create(
        [DeliveryFactory.build(customer=contact.customer, contact=contact, survey=survey) for contact in contacts],
        batch_size=2000,
    )
    return Invitation.objects.bulk_create(
        [InvitationFactory.build(delivery=delivery, contact=delivery.contact, status=InvitationStatus.SENT,
                                 scheduled_for=sent_at, sent_at=sent_at, next_attempt_at=None,
                                 remind_at=sent_at + timedelta(days=3), token_hash=hash_token(token))
         for delivery, token in zip(deliveries, tokens, strict=True)],
        batch_size=2000,
    )


# --- Answers and alerts, written directly: nothing is evaluated, notified or emailed.


class ResponseFactory(factory.django.DjangoModelFactory):
    """An answer to a sent invitation, already evaluated (`needs_evaluation` off), so
    no sweep raises an alert for it; build alerts with AlertFactory."""

    class Meta:
        model = Response

    customer = factory.SubFactory(CustomerFactory)
    invitation = factory.SubFactory(
        InvitationFactory,
        delivery__customer=factory.SelfAttribute("...customer"),
        status=InvitationStatus.RESPONDED,
        sent_at=factory.LazyAttribute(lambda invitation: invitation.scheduled_for),
        next_attempt_at=None,
    )
    survey = factory.SelfAttribute("invitation.delivery.survey")
    score = 9
    band = factory.LazyAttribute(lambda response: response.survey.classify(response.score))
    submitted_at = factory.LazyFunction(timezone.now)
    first_submitted_at = factory.SelfAttribute("submitted_at")
    needs_evaluation = False


class AlertFactory(factory.django.DjangoModelFactory):
    """An open at-risk alert ranked from its customer as it stands (tier, revenue,
    manager), for an answer of `score`."""

    class Meta:
        model = Alert

    customer = factory.SubFactory(CustomerFactory)
    score = 3
    response = factory.SubFactory(
        ResponseFactory, customer=factory.SelfAttribute("..customer"), score=factory.SelfAttribute("..score")
    )
    survey = factory.LazyAttribute(lambda alert: alert.response.survey if alert.response else None)
    kind = AlertKind.AT_RISK
    tier = factory.SelfAttribute("customer.tier")
    priority = factory.LazyAttribute(lambda alert: alert_rules.priority_for(tier=alert.tier, kind=alert.kind))
    high_value = factory.LazyAttribute(lambda alert: alert.tier in HIGH_VALUE_TIERS)
    assignee = factory.SelfAttribute("customer.account_manager")
    revenue_12m = factory.SelfAttribute("customer.revenue_12m")
    on_time_rate = factory.SelfAttribute("customer.on_time_rate")
    created_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyAttribute(lambda alert: alert.created_at + alert_rules.acknowledgement_window(alert.tier))


def answer_at(customer: Customer, score: int, when, *, survey: Survey | None = None, **fields) -> Response:
    """An answer given at `when` to a survey email sent an hour before (insights tests
    place answers in periods to the minute)."""
    return ResponseFactory(
        customer=customer,
        score=score,
        submitted_at=when,
        first_submitted_at=when,
        invitation__scheduled_for=when - timedelta(hours=1),
        invitation__delivery__survey=survey or Survey.default(),
        **fields,
    )


def unanswered_invitation(customer: Customer, sent) -> Invitation:
    """A survey email sent at `sent` and never answered."""
    return InvitationFactory(
        delivery__customer=customer, status=InvitationStatus.EXPIRED, scheduled_for=sent, sent_at=sent,
        next_attempt_at=None,
    )


def due_invitations(count: int, *, customers: list[Customer] | None = None, address: str = "contact{}@example.com",
                    reference: str = "ORDER-{}") -> None:
    """`count` deliveries recorded as the API records them (a thousand at a time), their
    survey emails due now, to `address` with each number put in, spread over `customers`
    (one new customer when none are given)."""
    from surveys import services

    customers = customers or [CustomerFactory()]
    delivered_at = timezone.now() - timedelta(hours=2)
    for first in range(0, count, 1000):
        services.record_deliveries(
            deliveries=[
                services.DeliveryData(
                    customer=customers[number % len(customers)],
                    reference=reference.format(number),
                    delivered_at=delivered_at,
                    contact_email=address.format(number),
                    contact_name=f"Contact {number}",
                    description="the warehouse move",
                )
                for number in range(first, min(first + 1000, count))
            ]
        )


def many_due_invitations(count: int, *, customers: list[Customer], address: str, reference: str) -> None:
    """What due_invitations makes, in seconds for a hundred thousand (PostgreSQL): the
    first invitation of each customer recorded as the API records it, every other one a
    copy of its customer's first (contact, delivery, invitation), made by three INSERT …
    SELECT with only its own address, name and reference. Invitation `number` goes to
    customers[number % len(customers)], as due_invitations spreads them."""
    from django.db import connection

    firsts = min(count, len(customers))
    due_invitations(firsts, customers=customers, address=address, reference=reference)
    if count == firsts:
        return
    first_of = {
        customer_id: ids
        for customer_id, *ids in Invitation.objects.filter(
            status=InvitationStatus.SCHEDULED, delivery__reference__in=[reference.format(number) for number in range(firsts)]
        ).values_list("delivery__customer_id", "contact_id", "delivery_id", "pk")
    }
    # rows[k]: the ids copied for invitation `number` when number % firsts == k.
    rows = [first_of[customer.pk] for customer in customers]
    with connection.cursor() as cursor:
        for model, template_ids, joins, overrides in [
            (Contact, [contact for contact, _, _ in rows], "", {"email": "copy.address", "name": "'Contact ' || copy.number"}),
            (Delivery, [delivery for _, delivery, _ in rows],
             "JOIN customers_contact AS contact ON contact.customer_id = template.customer_id "
             "AND lower(contact.email) = lower(copy.address)",
             {"reference": "copy.reference", "contact_id": "contact.id"}),
            (Invitation, [invitation for _, _, invitation in rows],
             "JOIN surveys_delivery AS first_delivery ON first_delivery.id = template.delivery_id "
             "JOIN surveys_delivery AS delivery ON delivery.customer_id = first_delivery.customer_id "
             "AND delivery.reference = copy.reference",
             {"delivery_id": "delivery.id", "contact_id": "delivery.contact_id"}),
        ]:
            columns = [field.column for field in model._meta.concrete_fields if not field.primary_key]
            values = ", ".join(overrides.get(column, f"template.{column}") for column in columns)
            table = model._meta.db_table
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM ("
                "SELECT number, replace(%s, '{}', number::text) AS address, replace(%s, '{}', number::text) AS reference, "
                "(%s::bigint[])[mod(number, %s::integer) + 1] AS template_id FROM generate_series(%s::integer, %s::integer) AS number"
                f") AS copy JOIN {table} AS template ON template.id = copy.template_id {joins}",
                [address, reference, template_ids, firsts, firsts, count - 1],
            )


def nothing_left_to_send() -> bool:
    """No invitation still waits to be handed to the outbox, and the outbox has sent all."""
    from core.models import OutgoingMessage

    return (
        not Invitation.objects.filter(status=InvitationStatus.SCHEDULED).exists()
        and not OutgoingMessage.objects.exclude(status=OutgoingMessage.Status.SENT).exists()
    )

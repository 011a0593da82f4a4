"""The survey pages' token lookup, as one statement written out once per process.

Every survey page and every answer starts here. Built with the ORM (select_related of
four tables, `.only()` of their columns), compiling the query cost more Python than
PostgreSQL took to run it (issue 15), so the SQL is written here from the models'
metadata, and each row becomes model instances the way the ORM makes them
(`Model.from_db`, each column's converters), related to each other as select_related
relates them. Only the columns listed are read; any other is deferred, read when asked
for, as with `.only()`."""

from __future__ import annotations

from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, signals
from django.db.models.base import ModelState

from customers.models import Contact

from .models import Delivery, Invitation, Response, Survey


def in_field_order(model: type[Model], names: tuple[str, ...]) -> tuple[str, ...]:
    """`names` in the order of the model's fields: Model.from_db pairs a partial row's
    values with the fields in that order, whatever order the names are given in."""
    order = [field.attname for field in model._meta.concrete_fields]
    return tuple(sorted(names, key=order.index))


Read = tuple[tuple[type[Model], str, tuple[str, ...]], ...]


def reading(*tables: tuple[type[Model], str, tuple[str, ...]]) -> Read:
    """What a written-out statement reads: (model, table alias, column names) per table,
    in the statement's order, each table's names put in field order (in_field_order)."""
    return tuple((model, alias, in_field_order(model, names)) for model, alias, names in tables)


# What the survey pages and record_response read, table by table, in the statement's order.
READ = reading(
    (Invitation, "i", ("id", "delivery_id", "contact_id", "status", "expires_at", "sent_at", "remind_at",
                       "reminded_at")),
    (Delivery, "d", ("id", "customer_id", "reference", "delivered_at", "description", "survey_id")),
    (Survey, "s", ("id", "sender_id", "question", "scale_min", "scale_max", "promoter_min", "satisfied_min")),
    (Contact, "c", ("id", "name", "language")),
    (Response, "r", ("id", "invitation_id", "score", "band", "comment", "submitted_at")),
)


def columns(read: Read) -> str:
    """The SELECT list of `read`'s columns, each as alias.column."""
    return ", ".join(f"{alias}.{model._meta.get_field(name).column}" for model, alias, names in read for name in names)


def _table(model: type[Model]) -> str:
    return model._meta.db_table


LOOKUP = (
    "SELECT {columns}"  # nosec B608: table and column names from the models, the token as a parameter
    f" FROM {_table(Invitation)} i"
    f" INNER JOIN {_table(Delivery)} d ON d.id = i.delivery_id"
    f" INNER JOIN {_table(Survey)} s ON s.id = d.survey_id"
    f" INNER JOIN {_table(Contact)} c ON c.id = i.contact_id"
    f" LEFT OUTER JOIN {_table(Response)} r ON r.invitation_id = i.id"
    # A token opens one invitation at most: no ORDER BY to plan.
    " WHERE i.token_hash = %s OR i.reminder_token_hash = %s LIMIT 1"
).format(columns=columns(READ))


def invitation_with_digest(digest: str, *, using: str = DEFAULT_DB_ALIAS) -> Invitation | None:
    """The invitation whose survey or reminder link has this digest, with its delivery,
    survey, contact and answer (None when unanswered) read in the same statement."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(LOOKUP, [digest, digest])
        row = cursor.fetchone()
    if row is None:
        return None
    invitation, delivery, survey, contact, response = instances(row, READ, using=using)
    Delivery.survey.field.set_cached_value(delivery, survey)
    Invitation.delivery.field.set_cached_value(invitation, delivery)
    Invitation.contact.field.set_cached_value(invitation, contact)
    Invitation.response.related.set_cached_value(invitation, response)
    if response is not None:
        Response.invitation.field.set_cached_value(response, invitation)
    return invitation


def instances(row: tuple, read: Read, *, using: str) -> list[Model | None]:
    """One instance per table of `read` (READ's shape: model, alias, columns in field
    order) from `row`, as the ORM makes them; None for a table the row has nothing of
    (through an outer join)."""
    instances: list[Model | None] = []
    start = 0
    connection = connections[using]
    for (model, _, names), converters in zip(read, _converters(read, connection.vendor, using)):
        values = list(row[start : start + len(names)])
        start += len(names)
        if values[0] is None:
            instances.append(None)
            continue
        for position, (expression, field_converters) in converters.items():
            for converter in field_converters:
                values[position] = converter(values[position], expression, connection)
        instances.append(_made(model, using, names, values))
    return instances


def _made(model: type[Model], using: str, names: tuple[str, ...], values: list) -> Model:
    """model.from_db(using, names, values), written out for a model that leaves its making
    to Django (no __init__ or from_db of its own, no pre_init or post_init receiver): its
    columns set as Model.__init__ sets them, without the walk through all of the model's
    fields, deferred ones included, that from_db and __init__ make for a partial row."""
    if not _plainly_made(model) or signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return model.from_db(using, names, values)
    instance = model.__new__(model)
    instance._state = ModelState()
    instance._state.adding, instance._state.db = False, using
    instance.__dict__.update(zip(names, values))
    return instance


@cache
def _plainly_made(model: type[Model]) -> bool:
    return model.__init__ is Model.__init__ and model.from_db.__func__ is Model.from_db.__func__


@cache
def _converters(read: Read, vendor: str, using: str) -> list[dict[int, tuple]]:
    """Per table of `read`, the columns whose database value the ORM converts (a date in
    SQLite's text, say), with their converters: what the ORM's compiler applies."""
    connection = connections[using]
    found = []
    for model, alias, names in read:
        table: dict[int, tuple] = {}
        for position, name in enumerate(names):
            expression = model._meta.get_field(name).get_col(alias)
            converters = (*connection.ops.get_db_converters(expression), *expression.get_db_converters(connection))
            if converters:
                table[position] = (expression, converters)
        found.append(table)
    return found

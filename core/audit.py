"""The audit trail: who changed what, and when (django-auditlog's LogEntry).

The models listed in settings.AUDITLOG_INCLUDE_TRACKING_MODELS log every save and
delete through model signals. Who made the change comes from the request
(AuditMiddleware: pages and the admin), from the API token once DRF has checked it
(`attribute_to`, called by core.api.authentication) or, outside a request, from
`acting_as` (imports, commands); a change with no one behind it is the system's
(tasks, webhooks, sweeps).

Writes that bypass model signals (QuerySet.update, bulk_create, bulk_update) record
what they changed with `record` and `record_many`. Entries are never edited: the
admin shows them read-only and nothing here changes one, except `redact`, which an
erasure on request uses to remove the erased person's data from old entries.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from auditlog.cid import get_cid
from auditlog.context import auditlog_value, set_actor
from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import AutoField, BooleanField, Model, Q, QuerySet
from django.utils import timezone

from core.ratelimit import client_address

Action = LogEntry.Action

# An entry's value after `redact`.
ERASED = "[erased]"

# A change as auditlog stores it: {field: [before, after]}, both as text.
Changes = Mapping[str, Sequence[Any]]


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware, with the client address as the rate limits and the sign-in
    lockout see it (settings.TRUSTED_PROXY_HOPS), never an address the client wrote."""

    @staticmethod
    def _get_remote_addr(request) -> str:
        return client_address(request)

    def __call__(self, request):
        with _restoring_context():
            return super().__call__(request)


def attribute_to(user, *, via: str) -> None:
    """The rest of this request's changes are `user`'s, made `via` (their API token):
    an API call, whose user is known only once DRF has checked its token, after the
    middleware ran. Each entry keeps `via` in its additional data."""
    context = _context()
    context["actor"] = user
    context["additional_data"] = {"via": via}


@contextlib.contextmanager
def acting_as(user) -> Iterator[None]:
    """Changes made inside are `user`'s (an import or a command run on someone's behalf,
    a service told who acts); the request's actor, if any, again afterwards."""
    with _restoring_context(), set_actor(user):
        yield


@contextlib.contextmanager
def _restoring_context() -> Iterator[None]:
    """auditlog's set_actor leaves its context behind when it ends; this puts back what
    was there before, so that no later change is attributed to whoever acted last."""
    token = auditlog_value.set(_context())
    try:
        yield
    finally:
        auditlog_value.reset(token)


class _Made(NamedTuple):
    """One change made without model signals: to `instance`, `changes`, as `action`."""

    instance: Model
    changes: Changes
    action: int = Action.UPDATE


def record(instance: Model, *, changes: Changes, action: int = Action.UPDATE) -> None:
    """Records one change made without model signals (an UPDATE statement)."""
    record_many([(instance, changes, action)])


def record_many(made: Iterable[tuple]) -> None:
    """Records changes made in bulk, given as (instance, changes[, action]) with UPDATE
    unless said, one entry per changed object, in one INSERT; the actor, address and
    correlation id are the current context's, as for a save."""
    context = _context()
    actor = context.get("actor")
    shared = {
        "actor_id": getattr(actor, "pk", None),
        "actor_email": getattr(actor, "email", None),
        # As the model's field stores it: an empty address is none.
        "remote_addr": connection.ops.adapt_ipaddressfield_value(context.get("remote_addr")),
        "remote_port": context.get("remote_port"),
        "cid": get_cid(),
        "additional_data": context.get("additional_data"),
        "timestamp": timezone.now(),
    }
    entries = [
        {
            "content_type_id": ContentType.objects.get_for_model(change.instance).pk,
            "object_pk": str(change.instance.pk),
            "object_id": change.instance.pk if isinstance(change.instance.pk, int) else None,
            "object_repr": str(change.instance),
            "action": change.action,
            "changes": {field: [_text(before), _text(after)] for field, (before, after) in change.changes.items()},
        }
        for change in (_Made(*item) for item in made)
        if change.changes
    ]
    if not entries:
        return
    if connection.vendor == "postgresql":
        _insert_entries(entries, shared)
    else:
        LogEntry.objects.bulk_create([LogEntry(**shared, **entry) for entry in entries], batch_size=1000)


# The entries travel as one JSON document: Django's bulk_create spent more time building
# and quoting fifteen arrays of values in Python (~0.3 ms an entry) than PostgreSQL took
# to write them. The columns are those bulk_create writes, with the same values.
_INSERT_ENTRIES = f"""INSERT INTO {LogEntry._meta.db_table} (content_type_id, object_pk, object_id, object_repr, serialized_data, action,
                               changes_text, changes, actor_id, cid, remote_addr, remote_port, timestamp,
                               additional_data, actor_email)
SELECT entry.content_type_id, entry.object_pk, entry.object_id, entry.object_repr, NULL, entry.action,
       '', entry.changes, %(actor_id)s, %(cid)s, %(remote_addr)s::inet, %(remote_port)s, %(timestamp)s,
       %(additional_data)s::jsonb, %(actor_email)s
FROM ROWS FROM (jsonb_to_recordset(%(entries)s::jsonb) AS (
    content_type_id integer, object_pk text, object_id bigint, object_repr text, action smallint, changes jsonb
)) WITH ORDINALITY AS entry
ORDER BY entry.ordinality
"""  # nosec B608: the table's name from auditlog's model, every value a parameter


def _insert_entries(entries: list[dict], shared: dict) -> None:
    additional_data = shared["additional_data"]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ENTRIES,
            {
                **shared,
                "additional_data": None if additional_data is None else json.dumps(additional_data),
                "entries": json.dumps(entries),
            },
        )


def changes(before: Model | None, after: Model, fields: Iterable[str]) -> dict[str, list[Any]]:
    """What differs between two states of one object in `fields` ({field: [before,
    after]}); with no `before`, every field as created."""
    found = {}
    for name in fields:
        attname = after._meta.get_field(name).attname
        old = getattr(before, attname) if before is not None else None
        new = getattr(after, attname)
        if old != new:
            found[name] = [old, new]
    return found


def _context() -> dict:
    return auditlog_value.get({})


def _text(value: Any) -> str:
    # auditlog's own entries store "None" for an empty value; these read the same.
    return str(value)


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class TrailEntry:
    """One entry as a person reads it on an object's page."""

    at: datetime
    who: str
    via: str
    action: str
    what: str
    changes: list[Change]


# How many entries an object's page shows; the admin lists them all.
TRAIL_SHOWN = 50


def trail_for_page(user, *targets: Model | QuerySet) -> dict:
    """The template context of an object's audit trail (templates/core/audit_trail.html):
    for staff only; empty for anyone else."""
    if not user.is_staff:
        return {}
    return {"trail": trail(*targets, limit=TRAIL_SHOWN), "trail_limit": TRAIL_SHOWN}


def trail(*targets: Model | QuerySet, limit: int = TRAIL_SHOWN) -> list[TrailEntry]:
    """The latest entries about these objects (model instances, or querysets of one
    model), newest first, as people read them: who (a person, or ValuePulse itself),
    what, and each field's value before and after, with choices and people named. Three
    queries whatever the number of entries."""
    entries = list(
        LogEntry.objects.filter(_about(targets)).select_related("actor", "content_type").order_by("-timestamp", "-pk")[
            :limit
        ]
    )
    people = _people_named_in(entries)
    return [
        TrailEntry(
            at=entry.timestamp,
            who=_who(entry),
            via=(entry.additional_data or {}).get("via", "") if isinstance(entry.additional_data, dict) else "",
            action=entry.get_action_display(),
            what=_what(entry),
            changes=_changes(entry, people),
        )
        for entry in entries
    ]


def _what(entry: LogEntry) -> str:
    model = entry.content_type.model_class()
    kind = model._meta.verbose_name if model else entry.content_type.model
    return f"{kind} {entry.object_repr}"


def _changes(entry: LogEntry, people: Mapping[str, str]) -> list[Change]:
    found = []
    for name, values in (entry.changes_dict or {}).items():
        if isinstance(values, dict):  # many-to-many: {"operation": "add", "objects": [...]}
            objects = ", ".join(str(item) for item in values.get("objects", []))
            found.append(Change(field=_label(entry, name), before=values.get("operation", ""), after=objects or "—"))
        else:
            before, after = values
            found.append(
                Change(field=_label(entry, name), before=_shown(entry, name, before, people), after=_shown(entry, name, after, people))
            )
    return found


def _who(entry: LogEntry) -> str:
    if entry.actor is not None:
        return entry.actor.get_full_name() or entry.actor.get_username()
    if entry.actor_email:  # a user since deleted
        return entry.actor_email
    # A request without a signed-in person (a respondent's page) has an address; the
    # system's own work (tasks, sweeps) has none.
    return f"Someone at {entry.remote_addr}" if entry.remote_addr else "ValuePulse"


def _field(entry: LogEntry, name: str):
    model = entry.content_type.model_class()
    try:
        return model._meta.get_field(name) if model else None
    except FieldDoesNotExist:
        return None


def _label(entry: LogEntry, name: str) -> str:
    field = _field(entry, name)
    return str(getattr(field, "verbose_name", name))


def _people_named_in(entries: Sequence[LogEntry]) -> dict[str, str]:
    """Usernames for the user ids that entries hold in user fields (assignee, account manager)."""
    user_model = get_user_model()
    ids = {
        value
        for entry in entries
        for name, values in (entry.changes_dict or {}).items()
        if getattr(_field(entry, name), "related_model", None) is user_model and not isinstance(values, dict)
        for value in values
        if str(value).isdigit()
    }
    users = user_model.objects.filter(pk__in=ids) if ids else []
    return {str(user.pk): user.get_full_name() or user.get_username() for user in users}


def _shown(entry: LogEntry, name: str, value: Any, people: Mapping[str, str]) -> str:
    if value in (None, "None", ""):
        return "—"
    if value in (True, "True", False, "False") and isinstance(_field(entry, name), BooleanField):
        return "yes" if value in (True, "True") else "no"
    field = _field(entry, name)
    if getattr(field, "related_model", None) is get_user_model():
        return people.get(str(value), f"user #{value}")
    choices = dict(getattr(field, "flatchoices", None) or [])
    for key, label in choices.items():
        if str(key) == str(value):
            return str(label)
    return str(value)


def redact(target: Model, *, fields: Iterable[str], object_repr: str) -> int:
    """Replaces the values of `fields` in every entry about `target` with ERASED, and the
    name the entries give it with `object_repr`. Returns the entries rewritten."""
    fields = set(fields)
    rewritten = []
    for entry in LogEntry.objects.filter(_about([target])):
        changes = entry.changes or {}
        entry.changes = {
            field: ([ERASED for _ in values] if field in fields else values) for field, values in changes.items()
        }
        entry.object_repr = object_repr
        entry.serialized_data = None
        rewritten.append(entry)
    LogEntry.objects.bulk_update(rewritten, ["changes", "object_repr", "serialized_data"], batch_size=1000)
    return len(rewritten)


def _about(targets: Iterable[Model | QuerySet]) -> Q:
    about = Q(pk__in=[])
    for target in targets:
        model = target.model if isinstance(target, QuerySet) else type(target)
        ids = target.values("pk") if isinstance(target, QuerySet) else [target.pk]
        # auditlog keeps integer keys in object_id (a number) and every key as text in object_pk.
        key = "object_id" if isinstance(model._meta.pk, AutoField) else "object_pk"
        about |= Q(content_type=ContentType.objects.get_for_model(model), **{f"{key}__in": ids})
    return about

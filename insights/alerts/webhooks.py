"""The optional outgoing webhook for new alerts: what is sent and how it is signed.

When settings.ALERT_WEBHOOK_URL is set, every new alert is POSTed there as JSON
(`payload`): `event` ("alert.raised"), `id`, `kind` (at_risk, decline, unreachable),
`priority` (1 critical … 4 low), `high_value`, `customer` {`external_id`, `name`},
`tier`, `revenue_12m` (a decimal string), `score`, `previous_score`, `comment` (all
three null for an unreachable alert, which no answer raised), `lost_contact` (an
unreachable alert's {`email`, `reason`: bounced, soft_bounces or complained, `at`};
otherwise null), `created_at`, `due_at` (ISO 8601), `url` (the alert's page) and
`text`, a one-line summary that Slack shows as it is, so the URL may be a Slack
incoming webhook as well as one's own endpoint.

Signature: when settings.ALERT_WEBHOOK_SECRET is set, the request carries
`X-ValuePulse-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw request body keyed
with the secret. A receiver recomputes it over the bytes it received (before parsing
the JSON) and compares in constant time (`hmac.compare_digest`). Each alert is sent at
most once successfully, so a receiver can drop repeats by `alert.id`.

Delivery goes through the outbox (core.outbox: claims, retries, the sweep); the
record kept on the alert is written by services.record_webhook_sent / _failure.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.urls import reverse

from core.emails import absolute_url

from ..models import Alert, AlertKind
from . import rules

SIGNATURE_HEADER = "X-ValuePulse-Signature"
TIMEOUT_SECONDS = 5.0
# Of an error answer's body, kept with the error for staff to read.
ERROR_BODY_CHARS = 200


class DeliveryError(Exception):
    """The webhook was not accepted; the message says why, without the URL or secret."""


def payload(alert: Alert) -> dict:
    """The alert as the API's alerts/ lists it (tier, revenue and scores as they stood
    when it was raised; money as a decimal string), with the customer's name, a link to
    the alert's page and a one-line `text` for chat."""
    return {
        "event": "alert.raised",
        "id": alert.pk,
        "kind": alert.kind,
        "priority": alert.priority,
        "high_value": alert.high_value,
        "customer": {"external_id": alert.customer.external_id, "name": alert.customer.name},
        "tier": alert.tier,
        "revenue_12m": str(alert.revenue_12m),
        "score": alert.score,
        "previous_score": alert.previous_score,
        "comment": alert.response.comment if alert.response else None,
        "lost_contact": _lost_contact(alert),
        "created_at": alert.created_at.isoformat(),
        "due_at": alert.due_at.isoformat(),
        "url": alert_url(alert),
        "text": slack_text(alert),
    }


def _lost_contact(alert: Alert) -> dict | None:
    if alert.kind != AlertKind.UNREACHABLE:
        return None
    return {
        "email": alert.lost_contact_email,
        "reason": alert.lost_contact_reason,
        "at": alert.lost_contact_at.isoformat() if alert.lost_contact_at else None,
    }


def alert_url(alert: Alert) -> str:
    return absolute_url(reverse("insights:alert", args=[alert.pk]))


def slack_text(alert: Alert) -> str:
    """One line a person reads in a chat channel: who, how bad, why it ranks so, a link."""
    customer = alert.customer
    what = "High-value churn risk" if alert.high_value else f"{alert.get_priority_display()} alert"
    if alert.kind == AlertKind.DECLINE:
        what += " (score decline)"
    elif alert.kind == AlertKind.UNREACHABLE:
        what += " (no contact can be surveyed)"
    who = _slack_escape(f"{customer.name} ({customer.external_id})")
    why = _slack_escape(rules.rank_reason(alert))
    return f"{what}: {who}. {why} <{alert_url(alert)}|Open the alert>"


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup in text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def encode(alert: Alert) -> bytes:
    return json.dumps(payload(alert), ensure_ascii=False, separators=(",", ":")).encode()


def sign(body: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 of `body` keyed with `secret`."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers_for(body: bytes, secret: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "ValuePulse-Webhook/1"}
    if secret:
        headers[SIGNATURE_HEADER] = f"sha256={sign(body, secret)}"
    return headers


def host_of(url: str) -> str:
    """The part of the URL safe to log: a Slack webhook URL's path is its secret."""
    try:
        return urlsplit(url).netloc.rpartition("@")[2] or "(no host)"
    except ValueError:
        return "(not a valid URL)"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET and look like success: it is a failure.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POSTs `body`; returns the 2xx status or raises DeliveryError. Each socket wait
    (connect, every read) is bounded by TIMEOUT_SECONDS."""
    try:
        if urlsplit(url).scheme not in ("http", "https"):
            raise DeliveryError("ALERT_WEBHOOK_URL is not an http(s) URL")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        detail = error.read(ERROR_BODY_CHARS).decode(errors="replace").strip() if error.fp else ""
        raise DeliveryError(f"HTTP {error.code} {error.reason}" + (f": {detail}" if detail else "")) from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise DeliveryError(f"no answer within {TIMEOUT_SECONDS:g} s") from None
        raise DeliveryError(f"could not connect: {error.reason}") from None
    except TimeoutError:
        raise DeliveryError(f"no answer within {TIMEOUT_SECONDS:g} s") from None
    except (http.client.HTTPException, OSError) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}") from None
    except ValueError:
        # urllib's message would repeat the URL.
        raise DeliveryError("ALERT_WEBHOOK_URL is not a valid URL") from None

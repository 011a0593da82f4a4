"""The email providers' webhooks (anymail's views under /anymail/) answer the way the
providers' HTTP clients expect, and are never open to anyone on the web:

- with no ANYMAIL_WEBHOOK_SECRET set they refuse every call (403); anymail would accept
  it with a warning;
- a call without the right basic auth gets 401 with a Basic challenge (anymail says 400;
  Amazon SNS and other clients send credentials only once challenged);
- a payload that fails anymail's own checks (a bad Mailgun signature, SNS headers that
  contradict the body) gets 403;
- a body anymail cannot read (not JSON, not the provider's shape) gets 400, not a 500
  that the provider would retry for days.

Anything that goes wrong after anymail has read the event (the broker cannot take it)
stays a 500, so the provider sends the event again later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from anymail.exceptions import AnymailAPIError, AnymailWebhookValidationFailure
from anymail.utils import get_anymail_setting, get_request_basic_auth
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare

logger = logging.getLogger(__name__)

NAMESPACE = "anymail"
REALM = 'Basic realm="ValuePulse delivery webhooks"'
_DECODE_ERRORS = (json.JSONDecodeError, UnicodeDecodeError)
# Errors of a body that is not what the provider sends, when anymail's code raised them.
_SHAPE_ERRORS = (KeyError, TypeError, AttributeError, ValueError)


class WebhookMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if not _is_webhook(request) or request.method != "POST":
            return None  # anymail answers HEAD itself: some providers test the address with it
        secrets = _secrets()
        if not secrets:
            logger.error("A provider called %s, but ANYMAIL_WEBHOOK_SECRET is not set: refused", request.path)
            return HttpResponse("Delivery webhooks are off until ANYMAIL_WEBHOOK_SECRET is set.", status=403)
        given = get_request_basic_auth(request)
        if given is None or not any(constant_time_compare(given, secret) for secret in secrets):
            logger.warning("A call to %s without the webhook's basic auth: refused", request.path)
            response = HttpResponse("Authentication required.", status=401)
            response["WWW-Authenticate"] = REALM
            return response
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_webhook(request):
            return None
        # Mailgun's view reports a body it cannot parse as a failed check: the cause tells.
        if _unreadable(exception) or isinstance(exception.__cause__, _DECODE_ERRORS):
            logger.warning("A call to %s carried a body anymail cannot read: %r", request.path, exception)
            return HttpResponse("Malformed payload.", status=400)
        if isinstance(exception, AnymailWebhookValidationFailure):
            logger.warning("A call to %s failed the provider's checks: %s", request.path, exception)
            return HttpResponse("The request failed the provider's checks.", status=403)
        return None


def _is_webhook(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.namespace == NAMESPACE


def _secrets() -> list[str]:
    secret = get_anymail_setting("webhook_secret", default=[])
    return [secret] if isinstance(secret, str) and secret else list(secret or [])


def _unreadable(exception: Exception) -> bool:
    if isinstance(exception, (*_DECODE_ERRORS, AnymailAPIError)):
        return True  # anymail raises AnymailAPIError for an SNS body it cannot parse
    return isinstance(exception, _SHAPE_ERRORS) and _raised_in_anymail(exception)


def _raised_in_anymail(exception: Exception) -> bool:
    """Whether anymail's own code raised it while reading the payload (a list where an
    object belongs), not ours while handling the event it read."""
    traceback = exception.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is not None and traceback.tb_frame.f_globals.get("__name__", "").startswith("anymail.")

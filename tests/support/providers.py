"""Delivery events as Postmark, Amazon SES (through SNS) and Mailgun post them to
anymail's tracking webhooks, for the tests to send through the real views.

Each payload is a provider's documented example, as anymail's own tests use them
(tests/test_postmark_webhooks.py, test_amazon_ses_webhooks.py, test_mailgun_webhooks.py
in django-anymail), with the recipient, message id, time and event id filled in.
Mailgun's are signed the way Mailgun signs: HMAC-SHA256 of timestamp + token with the
webhook signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import uuid
from datetime import datetime

from django.test import Client

WEBHOOK_SECRET = "valuepulse:webhook-secret-for-tests"
MAILGUN_SIGNING_KEY = "mailgun-webhook-signing-key-for-tests"
ANYMAIL_SETTINGS = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}

_ids = itertools.count(901542550)


def basic_auth(credentials: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


class Provider:
    """One provider's webhook: where it posts, how, and its events."""

    name = ""  # anymail's esp_name
    url = ""
    content_type = "application/json"

    def __repr__(self) -> str:
        return self.name

    def post(self, client: Client, payload: dict | str, *, auth: dict[str, str] | None = None):
        body = payload if isinstance(payload, str) else json.dumps(payload)
        headers = basic_auth() if auth is None else auth
        return client.post(self.url, data=body, content_type=self.content_type, **headers, **self.headers(payload))

    def headers(self, payload: dict | str) -> dict[str, str]:
        return {}

    def malformed(self) -> str:
        """A hard bounce's body cut short, as a broken proxy might deliver it."""
        raise NotImplementedError

    def hard_bounce(self, *, to: str, message_id: str, at: datetime) -> dict: ...
    def soft_bounce(self, *, to: str, message_id: str, at: datetime) -> dict: ...
    def complaint(self, *, to: str, message_id: str, at: datetime) -> dict: ...
    def delivered(self, *, to: str, message_id: str, at: datetime) -> dict: ...
    def opened(self, *, to: str, message_id: str, at: datetime) -> dict: ...


class Postmark(Provider):
    name = "Postmark"
    url = "/anymail/postmark/tracking/"

    def malformed(self) -> str:
        return '{"RecordType": "Bounce", "ID": 901542550, "Type": "HardBou'

    def _bounce(self, *, to: str, message_id: str, at: datetime, **kind: object) -> dict:
        return {
            "RecordType": "Bounce",
            "ID": next(_ids),
            "ServerID": 23,
            "MessageID": message_id,
            "Email": to,
            "From": "surveys@valuepulse.example",
            "BouncedAt": at.isoformat(),
            "DumpAvailable": True,
            "CanActivate": True,
            "Subject": "How satisfied are you with your delivery?",
            "Content": "...",
            **kind,
        }

    def hard_bounce(self, *, to: str, message_id: str, at: datetime) -> dict:
        return self._bounce(
            to=to,
            message_id=message_id,
            at=at,
            Type="HardBounce",
            TypeCode=1,
            Name="Hard bounce",
            Description="The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            Details="smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            Inactive=True,
        )

    def soft_bounce(self, *, to: str, message_id: str, at: datetime) -> dict:
        # anymail reports Postmark's SoftBounce as "bounced": its Type tells it is temporary.
        return self._bounce(
            to=to,
            message_id=message_id,
            at=at,
            Type="SoftBounce",
            TypeCode=4096,
            Name="Soft bounce",
            Description="Unable to temporarily deliver this email.",
            Details="smtp;452 4.2.2 The email account that you tried to reach is over quota.",
            Inactive=False,
        )

    def complaint(self, *, to: str, message_id: str, at: datetime) -> dict:
        return {
            "RecordType": "SpamComplaint",
            "ID": next(_ids),
            "Type": "SpamComplaint",
            "TypeCode": 512,
            "Name": "Spam complaint",
            "Tag": "survey",
            "MessageID": message_id,
            "ServerID": 1234,
            "Description": "",
            "Details": "Test spam complaint details",
            "Email": to,
            "From": "surveys@valuepulse.example",
            "BouncedAt": at.isoformat(),
            "DumpAvailable": True,
            "Inactive": True,
            "CanActivate": False,
            "Subject": "How satisfied are you with your delivery?",
        }

    def delivered(self, *, to: str, message_id: str, at: datetime) -> dict:
        return {
            "RecordType": "Delivery",
            "ServerId": 23,
            "MessageID": message_id,
            "Recipient": to,
            "Tag": "survey",
            "Metadata": {},
            "DeliveredAt": at.isoformat(),
            "Details": "Test delivery webhook details",
        }

    def opened(self, *, to: str, message_id: str, at: datetime) -> dict:
        return {
            "RecordType": "Open",
            "FirstOpen": True,
            "Client": {"Name": "Gmail", "Company": "Google", "Family": "Gmail"},
            "OS": {"Name": "unknown", "Company": "unknown", "Family": "unknown"},
            "Platform": "Unknown",
            "UserAgent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0",
            "ReadSeconds": 0,
            "Geo": {},
            "MessageID": message_id,
            "ReceivedAt": at.isoformat(),
            "Recipient": to,
        }


class AmazonSES(Provider):
    """SES publishes to an SNS topic; SNS posts JSON as text/plain, with its type and id
    repeated in x-amz-sns-* headers."""

    name = "Amazon SES"
    url = "/anymail/amazon_ses/tracking/"
    content_type = "text/plain; charset=UTF-8"

    def headers(self, payload: dict | str) -> dict[str, str]:
        if isinstance(payload, str):
            return {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "19ba9823"}
        return {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": payload["Type"], "HTTP_X_AMZ_SNS_MESSAGE_ID": payload["MessageId"]}

    def malformed(self) -> str:
        return '{"Type": "Notification", "MessageId": "19ba9823", "Message": "{\\"notificationT'

    @staticmethod
    def _time(at: datetime) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _notification(self, ses_event: dict, *, to: str, message_id: str, at: datetime) -> dict:
        ses_event["mail"] = {
            "timestamp": self._time(at),
            "source": "surveys@valuepulse.example",
            "sourceArn": "arn:aws:ses:us-west-2:888888888888:identity/valuepulse.example",
            "sourceIp": "127.0.3.0",
            "sendingAccountId": "123456789012",
            "messageId": message_id,
            "destination": [to],
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": "ValuePulse <surveys@valuepulse.example>"},
                {"name": "To", "value": to},
                {"name": "Subject", "value": "How satisfied are you with your delivery?"},
            ],
            "commonHeaders": {
                "from": ["ValuePulse <surveys@valuepulse.example>"],
                "to": [to],
                "subject": "How satisfied are you with your delivery?",
            },
        }
        return {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),  # unique to the SNS notification
            "TopicArn": "arn:aws:sns:us-east-1:1234567890:SES_Events",
            "Subject": "Amazon SES Email Event Notification",
            "Message": json.dumps(ses_event) + "\n",
            "Timestamp": self._time(at),
            "SignatureVersion": "1",
            "Signature": "EXAMPLE-SIGNATURE==",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-12345abcde.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn...",
        }

    def _bounce(self, *, to: str, message_id: str, at: datetime, bounce_type: str, sub_type: str, status: str,
                diagnostic: str) -> dict:
        bounce = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": sub_type,
                "reportingMTA": "dns; email.example.com",
                "bouncedRecipients": [
                    {"emailAddress": to, "status": status, "action": "failed", "diagnosticCode": diagnostic}
                ],
                "timestamp": self._time(at),
                "feedbackId": f"00000138111222aa-{uuid.uuid4()}-000000",
                "remoteMtaIp": "127.0.2.0",
            },
        }
        return self._notification(bounce, to=to, message_id=message_id, at=at)

    def hard_bounce(self, *, to: str, message_id: str, at: datetime) -> dict:
        return self._bounce(
            to=to, message_id=message_id, at=at, bounce_type="Permanent", sub_type="General", status="5.1.1",
            diagnostic=f"smtp; 550 5.1.1 <{to}>... User unknown",
        )

    def soft_bounce(self, *, to: str, message_id: str, at: datetime) -> dict:
        # anymail reports every SES bounce as "bounced": bounceType tells a transient one.
        return self._bounce(
            to=to, message_id=message_id, at=at, bounce_type="Transient", sub_type="MailboxFull", status="4.2.2",
            diagnostic="smtp; 452 4.2.2 Mailbox full",
        )

    def complaint(self, *, to: str, message_id: str, at: datetime) -> dict:
        complaint = {
            "notificationType": "Complaint",
            "complaint": {
                "userAgent": "AnyCompany Feedback Loop (V0.01)",
                "complainedRecipients": [{"emailAddress": to}],
                "complaintFeedbackType": "abuse",
                "arrivalDate": self._time(at),
                "timestamp": self._time(at),
                "feedbackId": f"000001378603177f-{uuid.uuid4()}-000000",
            },
        }
        return self._notification(complaint, to=to, message_id=message_id, at=at)

    def delivered(self, *, to: str, message_id: str, at: datetime) -> dict:
        delivery = {
            "notificationType": "Delivery",
            "delivery": {
                "timestamp": self._time(at),
                "recipients": [to],
                "processingTimeMillis": 546,
                "reportingMTA": "a8-70.smtp-out.amazonses.com",
                "smtpResponse": "250 ok:  Message 64111812 accepted",
                "remoteMtaIp": "127.0.2.0",
            },
        }
        return self._notification(delivery, to=to, message_id=message_id, at=at)

    def opened(self, *, to: str, message_id: str, at: datetime) -> dict:
        # Opens come through SES event publishing (a configuration set), as "eventType".
        opened = {
            "eventType": "Open",
            "open": {
                "ipAddress": "192.0.2.1",
                "timestamp": self._time(at),
                "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X)...",
            },
        }
        return self._notification(opened, to=to, message_id=message_id, at=at)


def mailgun_signature(timestamp: str, token: str, signing_key: str = MAILGUN_SIGNING_KEY) -> str:
    return hmac.new(signing_key.encode("ascii"), f"{timestamp}{token}".encode("ascii"), hashlib.sha256).hexdigest()


class Mailgun(Provider):
    name = "Mailgun"
    url = "/anymail/mailgun/tracking/"

    def __init__(self, signing_key: str = MAILGUN_SIGNING_KEY) -> None:
        self.signing_key = signing_key

    def malformed(self) -> str:
        return '{"signature": {"timestamp": "1534108637", "token": "651869375b9d'

    def _signed(self, event_data: dict, *, at: datetime) -> dict:
        timestamp, token = str(int(at.timestamp())), uuid.uuid4().hex  # a token per webhook call
        event_data["timestamp"] = at.timestamp()
        return {
            "signature": {
                "timestamp": timestamp,
                "token": token,
                "signature": mailgun_signature(timestamp, token, self.signing_key),
            },
            "event-data": event_data,
        }

    @staticmethod
    def _headers(to: str, message_id: str) -> dict:
        # Mailgun's message-id header has no angle brackets; anymail adds them.
        return {"to": to, "message-id": message_id.strip("<>"), "from": "surveys@valuepulse.example",
                "subject": "How satisfied are you with your delivery?"}

    def hard_bounce(self, *, to: str, message_id: str, at: datetime) -> dict:
        return self._signed(
            {
                "event": "failed",
                "severity": "permanent",
                "reason": "bounce",
                "recipient": to,
                "log-level": "error",
                "message": {"headers": self._headers(to, message_id)},
                "delivery-status": {
                    "tls": True,
                    "mx-host": "aspmx.l.example.org",
                    "attempt-no": 1,
                    "description": "",
                    "session-seconds": 2.952177047729492,
                    "utf8": True,
                    "code": 550,
                    "message": "5.1.1 The email account that you tried to reach does not exist. Please try\n"
                    "5.1.1 double-checking the recipient's email address for typos",
                    "certificate-verified": True,
                },
            },
            at=at,
        )

    def soft_bounce(self, *, to: str, message_id: str, at: datetime) -> dict:
        return self._signed(
            {
                "event": "failed",
                "severity": "temporary",
                "reason": "generic",
                "log-level": "warn",
                "message": {"headers": self._headers(to, message_id)},
                "recipient": to,
                "delivery-status": {
                    "attempt-no": 3,
                    "description": "No MX for nomx.example.com",
                    "session-seconds": 0.0,
                    "retry-seconds": 1800,
                    "code": 498,
                    "message": "No MX for nomx.example.com",
                },
            },
            at=at,
        )

    def complaint(self, *, to: str, message_id: str, at: datetime) -> dict:
        return self._signed(
            {
                "event": "complained",
                "id": "ncV2XwymRUKbPek_MIM-Gw",
                "log-level": "warn",
                "recipient": to,
                "message": {"headers": self._headers(to, message_id)},
            },
            at=at,
        )

    def delivered(self, *, to: str, message_id: str, at: datetime) -> dict:
        return self._signed(
            {
                "tags": [],
                "storage": {"url": "https://sw.api.mailgun.net/v3/domains/example.org/messages/eyJwI...",
                            "key": "eyJwI..."},
                "recipient-domain": to.partition("@")[2],
                "id": "hTWCTD81RtiDN-...",
                "campaigns": [],
                "user-variables": {},
                "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False,
                          "is-test-mode": False},
                "log-level": "info",
                "envelope": {"sending-ip": "333.123.123.200", "sender": "surveys@valuepulse.example",
                             "transport": "smtp", "targets": to},
                "message": {"headers": self._headers(to, message_id), "attachments": [], "size": 809},
                "recipient": to,
                "event": "delivered",
                "delivery-status": {"tls": True, "mx-host": "smtp-in.example.com", "attempt-no": 1,
                                    "description": "", "session-seconds": 3.57, "utf8": True, "code": 250,
                                    "message": "OK", "certificate-verified": True},
            },
            at=at,
        )

    def opened(self, *, to: str, message_id: str, at: datetime) -> dict:
        return self._signed(
            {
                "event": "opened",
                "recipient": to,
                "tags": [],
                "user-variables": {},
                # Mailgun includes only the message-id header for opens and clicks.
                "message": {"headers": {"message-id": message_id.strip("<>")}},
                "geolocation": {"country": "US", "region": "CA", "city": "San Francisco"},
                "ip": "888.222.444.111",
                "client-info": {"client-type": "browser", "client-os": "OS X", "device-type": "desktop",
                                "client-name": "Chrome", "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X)..."},
            },
            at=at,
        )


PROVIDERS = [Postmark(), AmazonSES(), Mailgun()]

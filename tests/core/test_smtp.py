"""core.smtp.sendmail: smtplib's sendmail, with the sender's work done while the server
reads. Real SMTP over TCP on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import smtplib
from email.utils import getaddresses

import pytest
from django.core.mail.message import sanitize_address

from core import smtp
from core.outbox import _addresses
from tests.support.smtp import REFUSED_DOMAIN, smtp_sink

MESSAGE = b"Subject: Hello\r\nFrom: us@example.com\r\nTo: ana@example.com\r\n\r\nFirst line\r\n.a line that starts with a period\r\n"


@pytest.fixture
def server():
    with smtp_sink() as sink, smtplib.SMTP(sink.host, sink.port) as connection:
        yield sink, connection


class TestSendmail:
    def test_the_message_arrives_as_written_and_the_work_runs_in_order(self, server):
        sink, connection = server
        done = []

        refused = smtp.sendmail(connection, "us@example.com", ["ana@example.com"], MESSAGE,
                                after_mail_from=lambda: done.append("after MAIL FROM"),
                                before_data=lambda: done.append(("before the data", len(sink.received()))),
                                after_data=lambda: done.append("after the data"))

        assert refused == {}
        assert done == ["after MAIL FROM", ("before the data", 0), "after the data"]
        (received,) = sink.received()
        assert received.get_content().splitlines() == ["First line", ".a line that starts with a period"]

    def test_a_refused_recipient_is_reported_and_the_others_get_it(self, server):
        sink, connection = server

        refused = smtp.sendmail(connection, "us@example.com", ["ana@example.com", f"nobody@{REFUSED_DOMAIN}"], MESSAGE)

        assert list(refused) == [f"nobody@{REFUSED_DOMAIN}"] and refused[f"nobody@{REFUSED_DOMAIN}"][0] == 550
        assert len(sink.received()) == 1

    def test_all_recipients_refused_sends_nothing_but_the_work_after_mail_from_still_runs(self, server):
        sink, connection = server
        done = []

        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail(connection, "us@example.com", [f"nobody@{REFUSED_DOMAIN}"], MESSAGE,
                          after_mail_from=lambda: done.append("after MAIL FROM"),
                          before_data=lambda: done.append("before the data"),
                          after_data=lambda: done.append("after the data"))

        assert done == ["after MAIL FROM"]
        assert sink.received() == []
        # The connection was reset and goes on.
        smtp.sendmail(connection, "us@example.com", ["ana@example.com"], MESSAGE)
        assert len(sink.received()) == 1

    def test_the_work_after_mail_from_runs_even_when_the_connection_is_gone(self, server):
        _, connection = server
        connection.close()
        done = []

        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.sendmail(connection, "us@example.com", ["ana@example.com"], MESSAGE,
                          after_mail_from=lambda: done.append("after MAIL FROM"))

        assert done == ["after MAIL FROM"]


class TestPeriodsDoubled:
    """A line starting with a period is sent with it doubled, as smtplib does (RFC 5321's
    transparency); a message with none is sent as it is."""

    @pytest.mark.parametrize("data", [MESSAGE, b".first\r\nsecond\r\n", b"no period\r\nat a line's start.\r\n",
                                      b"a\n.b\r\n..c\r\n", b""])
    def test_it_doubles_them_as_smtplib_does(self, data):
        assert smtp._stuffed(data) == smtplib._quote_periods(data)


class TestPlainAddresses:
    """The outbox reads plain addresses itself (core.smtp.PLAIN_ADDRESS): the same as the
    email module's parser, Django's sanitize_address and smtplib's quoteaddr give."""

    ADDRESSES = ["ann@example.com", "Ann Lee <ann.lee+survey@mail.example.co.uk>", "Contact 12 <p0-12@example.com>",
                 "Ann  Lee <ann@example.com>", "Lee, Ann <ann@example.com>", "Zoë <zoe@example.com>",
                 "a..b@example.com", "ann@" + "x" * 64 + ".com", "<ann@example.com>", "ann@example.com "]

    def test_it_reads_each_address_as_getaddresses_does(self):
        for address in self.ADDRESSES:
            assert _addresses([address]) == getaddresses([address]), address
        assert _addresses(self.ADDRESSES[:3]) == getaddresses(self.ADDRESSES[:3])
        assert _addresses(self.ADDRESSES) == getaddresses(self.ADDRESSES)

    def test_a_plain_address_is_what_sanitize_address_and_quoteaddr_make_of_it(self):
        plain = [address for address in self.ADDRESSES if smtp.PLAIN_ADDRESS.fullmatch(address)]
        assert plain == ["ann@example.com"]
        for address in plain + ["ann.lee+survey@mail.example.co.uk", "p0-12@example.com"]:
            assert smtp.PLAIN_ADDRESS.fullmatch(address)
            assert sanitize_address(("", address), "utf-8") == address
            assert smtplib.quoteaddr(address) == f"<{address}>"

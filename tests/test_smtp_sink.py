"""The benchmarks' SMTP sink in a process of its own (tests/support/smtp_sink_process.py)."""

from __future__ import annotations

import smtplib

import pytest

from tests.support.smtp_sink_process import running_sink

MESSAGES = [
    b"Subject: one\r\n\r\nA line.\r\n",
    b"Subject: two\r\n\r\n.A line starting with a dot\r\n.\r\nThe line before was a lone dot.\r\n",
    b"Subject: three\r\n\r\n" + (b"x" * 70 + b"\r\n") * 1000,  # 72 kB: more than one piece the lean sink reads
]


@pytest.mark.parametrize("lean", [False, True], ids=["aiosmtpd", "lean"])
def test_every_message_is_accepted_and_its_recipients_written_once(tmp_path, lean):
    with running_sink(tmp_path / "received.txt", lean=lean) as sink:
        with smtplib.SMTP(sink.host, sink.port) as smtp:
            for number, message in enumerate(MESSAGES):
                smtp.sendmail("sender@example.com", [f"to{number}@example.com", f"cc{number}@example.com"], message)
            assert smtp.noop()[0] == 250  # the connection still speaks SMTP after the data
        received = sink.recipients()

    assert received == [f"to{number}@example.com\tcc{number}@example.com" for number in range(len(MESSAGES))]

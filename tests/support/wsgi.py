"""Calling the WSGI application the way gunicorn does, from a test: config/wsgi.py picks
a handler by path, which Django's test client (a handler of its own) never exercises."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    handler_class: type


def call(application, request: WSGIRequest) -> Answer:
    """What `application` answers to `request` (made by RequestFactory), read whole."""
    started: dict = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        started["status"], started["headers"] = status, headers

    # As Django's test client does: the test's database connection stays open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        answer = application(request.environ, start_response)
        body = b"".join(answer)
        answer.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    headers: dict[str, str] = {}
    for name, value in started["headers"]:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return Answer(int(started["status"].split()[0]), headers, body, answer._handler_class)

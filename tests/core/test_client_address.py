"""The client address every limit counts by: REMOTE_ADDR, or behind N proxies of ours the
X-Forwarded-For entry N from the right."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import RequestFactory

from core.ratelimit import client_address
from tests.support.processes import PROJECT_DIR

PROXY = "10.0.0.9"


def address(settings, *, hops: int, forwarded: str | None) -> str:
    settings.TRUSTED_PROXY_HOPS = hops
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=PROXY, **extra))


class TestNoProxy:
    def test_it_is_the_connections_address(self, settings):
        assert address(settings, hops=0, forwarded=None) == PROXY

    def test_a_forwarded_header_is_ignored(self, settings):
        assert address(settings, hops=0, forwarded="203.0.113.7") == PROXY


class TestOneProxy:
    def test_it_is_the_address_the_proxy_saw(self, settings):
        assert address(settings, hops=1, forwarded="203.0.113.7") == "203.0.113.7"

    def test_entries_the_client_wrote_to_the_left_are_ignored(self, settings):
        assert address(settings, hops=1, forwarded="1.1.1.1, 2.2.2.2, 203.0.113.7") == "203.0.113.7"

    def test_without_the_header_it_is_the_proxys_address(self, settings):
        assert address(settings, hops=1, forwarded=None) == PROXY


class TestTwoProxies:
    def test_it_is_the_second_entry_from_the_right(self, settings):
        # client -> edge proxy (writes the client) -> inner proxy (appends the edge) -> app
        assert address(settings, hops=2, forwarded="203.0.113.7, 10.0.0.5") == "203.0.113.7"

    def test_a_spoofed_left_entry_is_not_taken(self, settings):
        assert address(settings, hops=2, forwarded="198.51.100.1, 203.0.113.7, 10.0.0.5") == "203.0.113.7"

    def test_a_header_shorter_than_the_chain_falls_back_to_the_proxys_address(self, settings):
        assert address(settings, hops=2, forwarded="203.0.113.7") == PROXY

    @pytest.mark.parametrize("forwarded", ["not-an-ip, 10.0.0.5", ", 10.0.0.5", "203.0.113.7:4711, 10.0.0.5", ""])
    def test_a_malformed_entry_falls_back_to_the_proxys_address(self, settings, forwarded):
        assert address(settings, hops=2, forwarded=forwarded) == PROXY

    def test_ipv6_clients_are_read_too(self, settings):
        assert address(settings, hops=2, forwarded="2001:db8::7, 10.0.0.5") == "2001:db8::7"


def proxy_settings(**env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key not in {"BEHIND_PROXY", "TRUSTED_PROXY_HOPS"}}
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.TRUSTED_PROXY_HOPS, s.BEHIND_PROXY, s.SECURE_PROXY_SSL_HEADER)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env={**environment, **env},
        capture_output=True, text=True, timeout=60,
    )
    return (result.stdout.strip().splitlines() or [""])[-1] or result.stderr


class TestSettings:
    def test_no_proxy_is_trusted_by_default(self):
        assert proxy_settings() == "0 False None"

    def test_behind_proxy_means_one_hop_and_trusts_its_https_header(self):
        assert proxy_settings(BEHIND_PROXY="true") == "1 True ('HTTP_X_FORWARDED_PROTO', 'https')"

    def test_trusted_proxy_hops_wins_over_behind_proxy(self):
        assert proxy_settings(BEHIND_PROXY="true", TRUSTED_PROXY_HOPS="2") == "2 True ('HTTP_X_FORWARDED_PROTO', 'https')"

    def test_a_bad_number_of_hops_stops_start_up_with_a_clear_message(self):
        assert "TRUSTED_PROXY_HOPS must be a whole number" in proxy_settings(TRUSTED_PROXY_HOPS="two")

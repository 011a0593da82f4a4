"""Comparing page bodies in tests."""

from __future__ import annotations

import re

# The CSRF token is masked anew for every render; nothing else in a page differs by chance.
_CSRF = re.compile(rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+')


def without_csrf(body: bytes) -> bytes:
    return _CSRF.sub(rb"\1", body)

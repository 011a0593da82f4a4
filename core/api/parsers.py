"""The API's one parser: DRF's JSON parser, which also refuses JSON nested too deeply
to decode (Python's decoder gives up with a RecursionError, which DRF would let through
as a 500) as a bad body."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None

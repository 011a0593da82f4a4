from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core.validators import normalize_email, reject_control_characters
from customers.validators import validate_external_id


class TestRejectControlCharacters:
    @pytest.mark.parametrize("value", ["Acme", "Ñandú S.A.", "O'Brien & Sons", "Zürich – 東京", ""])
    def test_it_accepts_ordinary_text(self, value):
        reject_control_characters(value)

    @pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\x7fb", "a\x85b", "a\u2028b", "a\u2029b"])
    def test_it_rejects_control_characters_and_line_separators(self, value):
        with pytest.raises(ValidationError):
            reject_control_characters(value)

    def test_it_says_which_character_and_where(self):
        with pytest.raises(ValidationError) as error:
            reject_control_characters("Acme\r\n")
        assert error.value.messages == [
            "Must be a single line of text without control characters (found U+000D at position 5)."
        ]


class TestValidateExternalId:
    @pytest.mark.parametrize("value", ["CRM-1", "acme.eu", "a b", "x+y@z", "%41"])
    def test_it_accepts_anything_that_fits_one_url_segment(self, value):
        validate_external_id(value)

    @pytest.mark.parametrize("value", ["a/b", "/", "a\nb"])
    def test_it_rejects_slashes_and_control_characters(self, value):
        with pytest.raises(ValidationError):
            validate_external_id(value)


class TestNormalizeEmail:
    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("Ana@Example.COM", "Ana@example.com"),
            (" ana@example.com ", "ana@example.com"),
            ('"a@b"@Example.com', '"a@b"@example.com'),
            ("no-at-sign", "no-at-sign"),
        ],
    )
    def test_it_lower_cases_only_the_domain(self, given, stored):
        assert normalize_email(given) == stored

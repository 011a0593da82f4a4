"""Forgetting an erased address or name in text: what the words are replaced in, and what
is left alone."""

from __future__ import annotations

import json

from core import erasure


class TestRedact:
    def test_it_replaces_the_address_in_any_letter_case(self):
        text = "550 5.1.1 <Jo.Doe@Example.COM>: unknown; jo.doe@example.com again"
        assert erasure.redact(text, "jo.doe@example.com", "erased-7@erased.invalid") == (
            "550 5.1.1 <erased-7@erased.invalid>: unknown; erased-7@erased.invalid again"
        )

    def test_a_replacement_with_backslashes_is_taken_as_it_is(self):
        assert erasure.redact("to a@b.test", "a@b.test", r"x\1y") == r"to x\1y"


class TestRedactName:
    def test_it_replaces_the_name_as_a_whole_word(self):
        assert erasure.redact_name("Called Jo Doe; Jo Doeville is another", "Jo Doe", "someone") == (
            "Called someone; Jo Doeville is another"
        )

    def test_a_name_that_is_also_a_word_keeps_the_word_in_other_letter_case(self):
        assert erasure.redact_name("May said they may leave", "May", "someone") == "someone said they may leave"

    def test_names_too_short_to_tell_from_other_words_are_left(self):
        assert erasure.redact_name("Al called", "Al", "someone") == "Al called"

    def test_it_finds_the_name_inside_json_too(self):
        text = json.dumps([{"changed": {"object": "José Núñez <j@n.test>"}}])
        assert "Jos" not in erasure.redact_name(text, "José Núñez", "someone")


def test_the_placeholder_names_no_one_and_is_recognised():
    address = erasure.placeholder_address("42")
    assert address == "erased-42@erased.invalid"
    assert erasure.is_placeholder(address.upper())
    assert not erasure.is_placeholder("jo@example.com")

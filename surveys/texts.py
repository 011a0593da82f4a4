"""Survey texts that staff edit in admin, with placeholders filled in per invitation."""

from __future__ import annotations

from string import Formatter

PLACEHOLDERS = ("contact_name", "customer", "delivery", "company")

# A new survey's email texts. They promise no "one click": the email's score links open
# the survey page with the score chosen, and only its Send button records it (mail
# scanners open every link); the email says so beside the scores.
DEFAULT_INTRO = (
    "Hi {contact_name},\n\nThank you for choosing {company} for {delivery}. "
    "Telling us how we did takes a few seconds."
)
DEFAULT_SIGNATURE = "Thank you,\nThe {company} customer care team"


def fill_in(text: str, *, contact_name: str, customer: str, delivery: str, company: str) -> str:
    """Replaces {contact_name}, {customer}, {delivery} and {company} (the sender's name:
    who is asking). Raises KeyError naming an
    unknown placeholder, ValueError for a stray brace; `{{` writes a literal brace.

    Only plain names are allowed: `{customer.__class__}` and friends are refused, so a
    text can never reach into Python objects."""
    values = {"contact_name": contact_name, "customer": customer, "delivery": delivery, "company": company}
    for _, field, spec, conversion in Formatter().parse(text):
        if field is None:
            continue
        if field not in values or spec or conversion:
            raise KeyError(field)
    return text.format_map(values)

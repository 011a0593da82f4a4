"""What surveys hears from customers, each handed on in one line."""

from __future__ import annotations

from . import services


def contact_erased(sender: type, contact_id: int, email: str, replacement: str, **kwargs: object) -> None:
    # Inside the erasing transaction: a failure here rolls the erasure back.
    services.forget_contact(contact_id=contact_id, email=email, replacement=replacement)

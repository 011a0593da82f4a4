"""Sections other apps add to the customer page, so that this app need not know of
them (insights: the customer's timeline, which reads surveys and alerts). Each is a
template included with the page's context; register it in an AppConfig.ready."""

from __future__ import annotations

_sections: list[str] = []


def add_section(template: str) -> None:
    if template not in _sections:
        _sections.append(template)


def sections() -> list[str]:
    return list(_sections)

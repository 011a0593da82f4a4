"""Which band a score falls in: a pure rule, thresholds taken from the survey."""

from __future__ import annotations

from typing import Protocol

from customers.models import Band


class Thresholds(Protocol):
    scale_min: int
    scale_max: int
    satisfied_min: int
    promoter_min: int


def classify(score: int, survey: Thresholds) -> str:
    """On the default 1–10 scale: 9–10 promoter, 6–8 satisfied, 1–5 at risk. An NPS
    survey (0–10) stores 9 and 7 as its thresholds: 0–6 is at risk."""
    if not survey.scale_min <= score <= survey.scale_max:
        raise ValueError(f"Score {score} is outside the scale {survey.scale_min}–{survey.scale_max}.")
    if score >= survey.promoter_min:
        return Band.PROMOTER
    if score >= survey.satisfied_min:
        return Band.SATISFIED
    return Band.AT_RISK

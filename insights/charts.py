"""The score history chart, laid out in Python and drawn as inline SVG by a template:
no JavaScript and no chart library, so it shows in any browser and in tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .queries import Answer

WIDTH, HEIGHT = 800, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 784, 12, 172  # the plot area inside the SVG
SCORE_MAX = 10  # every survey's top score; 1–10 surveys leave 0 empty
Y_TICKS = (0, 2, 4, 6, 8, 10)


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    answer: Answer
    is_current: bool


@dataclass(frozen=True)
class Tick:
    position: float
    label: int | datetime
    anchor: str = "end"  # how the label's text lines up with the tick (SVG text-anchor)


@dataclass(frozen=True)
class ScoreChart:
    points: list[ChartPoint]
    line: str  # the polyline's `points` attribute
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    at_risk_top: float  # where the at-risk band ends, on the y axis
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def at_risk_height(self) -> float:
        return round(self.bottom - self.at_risk_top, 1)

    @property
    def middle_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def middle_y(self) -> float:
        return (self.top + self.bottom) / 2


def _y(score: float) -> float:
    return round(BOTTOM - (BOTTOM - TOP) * score / SCORE_MAX, 1)


def score_chart(answers: Sequence[Answer], *, current_pk: int, satisfied_min: int) -> ScoreChart:
    """Answers placed by when they were given (time runs left to right) and by score;
    the band below `satisfied_min` is marked at risk."""
    first, last = (answers[0].submitted_at, answers[-1].submitted_at) if answers else (None, None)
    span = (last - first).total_seconds() if first and last else 0

    def x(when: datetime) -> float:
        if not span:
            return (LEFT + RIGHT) / 2
        return round(LEFT + (RIGHT - LEFT) * (when - first).total_seconds() / span, 1)

    points = [
        ChartPoint(x=x(answer.submitted_at), y=_y(answer.score), answer=answer, is_current=answer.pk == current_pk)
        for answer in answers
    ]
    if not answers:
        x_ticks = []
    elif not span:
        x_ticks = [Tick(position=x(first), label=first, anchor="middle")]
    else:
        x_ticks = [Tick(position=LEFT, label=first, anchor="start"), Tick(position=RIGHT, label=last, anchor="end")]
    return ScoreChart(
        points=points,
        line=" ".join(f"{point.x},{point.y}" for point in points),
        y_ticks=[Tick(position=_y(score), label=score) for score in Y_TICKS],
        x_ticks=x_ticks,
        # Scores are whole numbers: the band reaches halfway to the first satisfied score.
        at_risk_top=_y(satisfied_min - 0.5),
    )

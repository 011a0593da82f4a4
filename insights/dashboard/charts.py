"""Charts laid out in Python and drawn as inline SVG by templates: the alert page's
score history and the insights charts. No JavaScript and no chart library, so they
show in any browser, without a network, and in tests."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from core.numbers import currency_symbol, format_money, format_percent, round_half_up


class Answer(Protocol):
    """One answer on a customer's score history, as the alert page reads it
    (insights.alerts.queries.Answer)."""

    pk: int
    score: int
    band: str
    submitted_at: datetime

    @property
    def band_label(self) -> str: ...


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
class Frame:
    """A chart's viewBox and the plot area inside it."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top

    @property
    def middle_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def middle_y(self) -> float:
        return (self.top + self.bottom) / 2

    def y(self, value: float, low: float, high: float) -> float:
        return round(self.bottom - self.plot_height * (value - low) / (high - low), 1)

    def x(self, value: float, low: float, high: float) -> float:
        return round(self.left + self.plot_width * (value - low) / (high - low), 1)


SCORE_FRAME = Frame(width=WIDTH, height=HEIGHT, left=LEFT, right=RIGHT, top=TOP, bottom=BOTTOM)


@dataclass(frozen=True)
class ScoreChart:
    points: list[ChartPoint]
    line: str  # the polyline's `points` attribute
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    at_risk_top: float  # where the at-risk band ends, on the y axis
    frame: Frame = SCORE_FRAME

    @property
    def at_risk_height(self) -> float:
        return round(self.frame.bottom - self.at_risk_top, 1)


def _y(score: float) -> float:
    return SCORE_FRAME.y(score, 0, SCORE_MAX)


def score_chart(answers: Sequence[Answer], *, current_pk: int | None, satisfied_min: int) -> ScoreChart:
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


# --- The insights charts. Each is laid out here and drawn by its template as inline
# SVG scaled to its card; a viewBox 480 units wide keeps the text readable from phone
# to laptop. Every chart's numbers are also given as a table beside it.

BAND_ORDER = ("at_risk", "satisfied", "promoter")  # bottom to top, left to right
# Room left of a plot for its tick labels ("+100", "100%") and the y axis's title.
AXIS_LEFT = 66


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


# Chart text is drawn up to this size in SVG units (on a phone, where a 480-unit chart
# shrinks to about two thirds: static/css/app.css): what a label's width is reckoned at.
LARGEST_FONT_UNITS = 17
CHARACTER_WIDTH = 0.6  # of the font size, a generous average for the app's sans-serif


def text_width(text: str) -> float:
    return len(text) * CHARACTER_WIDTH * LARGEST_FONT_UNITS


def kept_inside(label: Label, *, width: int) -> Label:
    """`label`, anchored at its start or end instead of its middle where a centred text
    would run past the chart's left or right edge and be cut."""
    half = text_width(label.text) / 2
    if label.anchor == "middle" and label.x - half < 0:
        return Label(x=label.x, y=label.y, text=label.text, anchor="start")
    if label.anchor == "middle" and label.x + half > width:
        return Label(x=label.x, y=label.y, text=label.text, anchor="end")
    return label


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 2.5 or 5 × 10ⁿ at or above `value`, for an axis's top."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return math.ceil(step * magnitude)
    return math.ceil(10 * magnitude)


def _bucket_label(start: date, *, weekly: bool) -> str:
    return f"{start.day} {start:%b}" if weekly else f"{start:%b} {start:%y}"


def _thinned(count: int, most: int) -> int:
    """Label every n-th of `count` items so that at most `most` labels show."""
    return max(1, math.ceil(count / most))


@dataclass(frozen=True)
class Segment:
    band: str
    x: float
    y: float
    width: float
    height: float
    count: int
    share: float


@dataclass(frozen=True)
class Column:
    label: str
    responses: int
    segments: list[Segment]


@dataclass(frozen=True)
class BandMixChart:
    frame: Frame
    columns: list[Column]
    y_ticks: list[Label]
    x_labels: list[Label]
    x_title: str


def _period_title(*, weekly: bool) -> str:
    return "Week starting" if weekly else "Month"


def band_mix_chart(buckets: Sequence, *, weekly: bool) -> BandMixChart:
    """Answers per week or month, stacked by band."""
    frame = Frame(width=480, height=240, left=AXIS_LEFT, right=470, top=12, bottom=196)
    top = nice_ceiling(max((bucket.mix.responses for bucket in buckets), default=0))
    slot = frame.plot_width / max(len(buckets), 1)
    bar = max(2.0, round(slot * 0.7, 1))
    every = _thinned(len(buckets), 6)
    columns, x_labels = [], []
    for index, bucket in enumerate(buckets):
        x = round(frame.left + slot * index + (slot - bar) / 2, 1)
        base, segments = frame.bottom, []
        for band in BAND_ORDER:
            count = getattr(bucket.mix, band)
            height = round(frame.plot_height * count / top, 1)
            if count:
                segments.append(Segment(band, x, round(base - height, 1), bar, height, count, bucket.mix.share(band)))
            base -= height
        label = _bucket_label(bucket.start, weekly=weekly)
        columns.append(Column(label=label, responses=bucket.mix.responses, segments=segments))
        if index % every == 0:
            x_labels.append(kept_inside(Label(x=round(x + bar / 2, 1), y=frame.bottom + 18, text=label), width=frame.width))
    values = (0, top // 2, top) if top % 2 == 0 else (0, top)  # whole numbers of answers only
    y_ticks = [Label(x=frame.left - 6, y=frame.y(value, 0, top), text=f"{value:,}", anchor="end") for value in values]
    return BandMixChart(frame=frame, columns=columns, y_ticks=y_ticks, x_labels=x_labels,
                        x_title=_period_title(weekly=weekly))


@dataclass(frozen=True)
class NetScoreChart:
    frame: Frame
    lines: list[str]  # polylines' points; an empty bucket breaks the line
    points: list[Label]  # the score at each answered bucket, text = its tooltip
    y_ticks: list[Label]
    x_labels: list[Label]
    zero_y: float
    x_title: str


def net_score_chart(buckets: Sequence, *, weekly: bool) -> NetScoreChart:
    """The net score of each week or month, −100 to 100."""
    frame = Frame(width=480, height=220, left=AXIS_LEFT, right=470, top=12, bottom=176)
    slot = frame.plot_width / max(len(buckets), 1)
    every = _thinned(len(buckets), 6)
    lines, line, points, x_labels = [], [], [], []
    for index, bucket in enumerate(buckets):
        x = round(frame.left + slot * (index + 0.5), 1)
        label = _bucket_label(bucket.start, weekly=weekly)
        score = bucket.mix.net_score
        if score is None:
            if line:
                lines.append(" ".join(line))
            line = []
        else:
            y = frame.y(score, -100, 100)
            line.append(f"{x},{y}")
            points.append(Label(x=x, y=y, text=f"{label}: {score:+g} from {bucket.mix.responses} answers"))
        if index % every == 0:
            x_labels.append(kept_inside(Label(x=x, y=frame.bottom + 18, text=label), width=frame.width))
    if line:
        lines.append(" ".join(line))
    y_ticks = [Label(x=frame.left - 6, y=frame.y(value, -100, 100), text=f"{value:+d}" if value else "0", anchor="end")
               for value in (-100, -50, 0, 50, 100)]
    return NetScoreChart(frame=frame, lines=lines, points=points, y_ticks=y_ticks, x_labels=x_labels,
                         zero_y=frame.y(0, -100, 100), x_title=_period_title(weekly=weekly))


@dataclass(frozen=True)
class BarRow:
    label: str  # the name, shortened to fit (`breakdown.label` is the whole of it)
    y: float
    segments: list[Segment]
    breakdown: object  # figures.Breakdown
    url: str | None = None  # the page filtered to this row

    @property
    def is_shortened(self) -> bool:
        return self.label != self.breakdown.label

    @property
    def value_text(self) -> str:
        """The number at the bar's end, saying what it is."""
        score = self.breakdown.mix.net_score
        if score is None:
            return "no answers"
        rounded = int(round_half_up(score))
        return f"net {rounded:+d}" if rounded else "net 0"


@dataclass(frozen=True)
class BandBarsChart:
    frame: Frame
    rows: list[BarRow]
    row_height: int = 30


# The bars sit three to a row on a laptop and one on a phone, about 330–370 px wide
# either way: a viewBox that wide keeps their text at its CSS size.
BARS_WIDTH = 340
LABEL_CHARACTERS = 15


def shortened(label: str, most: int = LABEL_CHARACTERS) -> str:
    return label if len(label) <= most else label[: most - 1].rstrip() + "…"


def band_bars_chart(breakdowns: Sequence, *, link: Callable[[object], str | None] = lambda key: None) -> BandBarsChart:
    """One bar per tier, manager or survey: its answers split by band, 100% wide, and
    its net score at the end; `link` gives the address of the page filtered to a row's key."""
    row_height = 30
    frame = Frame(width=BARS_WIDTH, height=max(row_height * len(breakdowns), row_height) + 8, left=124, right=266,
                  top=4, bottom=4 + row_height * max(len(breakdowns), 1))
    rows = []
    for index, breakdown in enumerate(breakdowns):
        y = frame.top + row_height * index + 6
        x, segments = float(frame.left), []
        for band in reversed(BAND_ORDER):
            share = breakdown.mix.share(band)
            width = round(frame.plot_width * share / 100, 1)
            if width:
                segments.append(Segment(band, round(x, 1), y, width, row_height - 12, getattr(breakdown.mix, band), share))
            x += width
        url = link(breakdown.key) if breakdown.key is not None else None
        rows.append(BarRow(label=shortened(breakdown.label), y=y, segments=segments, breakdown=breakdown, url=url))
    return BandBarsChart(frame=frame, rows=rows, row_height=row_height)


@dataclass(frozen=True)
class MapPoint:
    """One customer on the map, with its texts made here: hundreds of points render
    several times faster without template tags per point."""

    x: float
    y: float
    radius: float
    punctuality: str  # "on-time", "late", "very-late" or "unknown"
    name: str
    url: str
    tier: int | None
    score: int
    revenue: str  # formatted
    on_time: str  # formatted

    @property
    def title(self) -> str:
        tier = f", tier {self.tier}" if self.tier else ""
        return f"{self.name}: revenue {self.revenue}, latest score {self.score}{tier}, paid on time {self.on_time}"

    @property
    def path(self) -> str:
        """The point's mark: its shape tells how the customer pays, so that colour is
        left to the bands (green promoters, red at risk) and never contradicts them."""
        return punctuality_mark(self.punctuality, self.x, self.y, self.radius)


def punctuality_mark(punctuality: str, x: float, y: float, r: float) -> str:
    """An SVG path centred on (x, y) about `r` across half: a circle for on time, a
    diamond for often late, a triangle pointing down for mostly late, a square when
    nothing is due yet."""
    def fmt(value: float) -> str:
        return f"{round(value, 1):g}"

    if punctuality == "on-time":
        return f"M{fmt(x - r)},{fmt(y)} a{fmt(r)},{fmt(r)} 0 1,0 {fmt(2 * r)},0 a{fmt(r)},{fmt(r)} 0 1,0 {fmt(-2 * r)},0 Z"
    if punctuality == "late":
        d = r * 1.25
        return f"M{fmt(x)},{fmt(y - d)} L{fmt(x + d)},{fmt(y)} L{fmt(x)},{fmt(y + d)} L{fmt(x - d)},{fmt(y)} Z"
    if punctuality == "very-late":
        d = r * 1.3
        return f"M{fmt(x - d)},{fmt(y - d * 0.7)} L{fmt(x + d)},{fmt(y - d * 0.7)} L{fmt(x)},{fmt(y + d)} Z"
    d = r * 0.85
    return f"M{fmt(x - d)},{fmt(y - d)} L{fmt(x + d)},{fmt(y - d)} L{fmt(x + d)},{fmt(y + d)} L{fmt(x - d)},{fmt(y + d)} Z"


@dataclass(frozen=True)
class ValueMap:
    frame: Frame
    points: list[MapPoint]  # in drawing order: the largest first, so smaller ones stay visible
    x_ticks: list[Label]
    y_ticks: list[Label]
    value_x: float | None  # the high-value line (tier 1–2 start here), None without tiers
    satisfied_y: float
    quadrant_labels: list[Label]

    @property
    def rows(self) -> list[MapPoint]:
        """The points for the table: the most valuable first."""
        return sorted(self.points, key=lambda point: point.radius, reverse=True)

    @property
    def at_risk_height(self) -> float:
        return round(self.frame.bottom - self.satisfied_y, 1)

    @property
    def punctuality_legend(self) -> list[tuple[str, str, str]]:
        """(punctuality, words, the mark's path in a 16-unit box) for the legend."""
        return [(key, text, punctuality_mark(key, 8, 8, 5.5)) for key, text in PUNCTUALITY_LABELS.items()]


def punctuality(on_time_rate: float | None) -> str:
    if on_time_rate is None:
        return "unknown"
    if on_time_rate >= 0.9:
        return "on-time"
    return "late" if on_time_rate >= 0.7 else "very-late"


PUNCTUALITY_LABELS = {
    "on-time": "Pays on time (90% or more)",
    "late": "Often late (70–90%)",
    "very-late": "Mostly late (under 70%)",
    "unknown": "No invoices due yet",
}


def value_map(
    customers: Sequence, *, threshold: Decimal | None, satisfied_min: int = 6, customer_url: Callable[[int], str]
) -> ValueMap:
    """Customers placed by 12-month revenue (log scale: revenue spans orders of
    magnitude) and latest score; sized by revenue, shaped by payment punctuality."""
    # Room around the plot for the largest circles.
    frame = Frame(width=480, height=340, left=AXIS_LEFT, right=462, top=20, bottom=296)
    revenues = [float(customer.revenue_12m) for customer in customers if customer.revenue_12m > 0]
    if threshold:
        revenues.append(float(threshold))
    low = 10 ** math.floor(math.log10(min(revenues))) if revenues else 1.0
    high = 10 ** math.ceil(math.log10(max(revenues))) if revenues else 10.0
    if high <= low:
        high = low * 10
    largest = max(revenues, default=1.0)

    def x(revenue: float) -> float:
        return frame.x(math.log10(max(revenue, low)), math.log10(low), math.log10(high))

    points = [
        MapPoint(
            x=x(float(customer.revenue_12m)),
            y=frame.y(customer.answer_score + _jitter(customer.pk), 0, 10),
            radius=round(3 + 11 * math.sqrt(max(float(customer.revenue_12m), 0) / largest), 1),
            punctuality=punctuality(customer.on_time_rate),
            name=customer.name,
            url=customer_url(customer.pk),
            tier=customer.tier,
            score=customer.answer_score,
            revenue=format_money(customer.revenue_12m),
            on_time=format_percent(customer.on_time_rate),
        )
        for customer in customers
    ]
    decades = range(round(math.log10(low)), round(math.log10(high)) + 1)
    x_ticks = [Label(x=x(10**power), y=frame.bottom + 16, text=_money_short(10**power)) for power in decades]
    if len(x_ticks) > 1:  # the outer labels stay inside the chart
        x_ticks[0] = Label(x=x_ticks[0].x, y=x_ticks[0].y, text=x_ticks[0].text, anchor="start")
        x_ticks[-1] = Label(x=x_ticks[-1].x, y=x_ticks[-1].y, text=x_ticks[-1].text, anchor="end")
    y_ticks = [Label(x=frame.left - 6, y=frame.y(score, 0, 10), text=str(score), anchor="end") for score in (0, 2, 4, 6, 8, 10)]
    value_x = x(float(threshold)) if threshold else None
    satisfied_y = frame.y(satisfied_min - 0.5, 0, 10)
    quadrant_labels = [
        Label(x=frame.right - 4, y=frame.top + 14, text="Maintain", anchor="end"),
        Label(x=frame.right - 4, y=frame.bottom - 6, text="Protect", anchor="end"),
        Label(x=frame.left + 4, y=frame.top + 14, text="Grow", anchor="start"),
        Label(x=frame.left + 4, y=frame.bottom - 6, text="Rethink", anchor="start"),
    ]
    return ValueMap(frame=frame, points=points, x_ticks=x_ticks, y_ticks=y_ticks, value_x=value_x,
                    satisfied_y=satisfied_y, quadrant_labels=quadrant_labels)


def _jitter(pk: int) -> float:
    """A fixed nudge of up to ±0.3 points per customer, so that customers with the same
    score do not hide each other on the map (the tooltip and table give the score)."""
    return ((pk * 2654435761) % 1000 / 1000 - 0.5) * 0.6


def _money_short(amount: float) -> str:
    """An axis's round amount in the currency: "€10k", "€1m"."""
    for size, suffix in ((1_000_000_000, "bn"), (1_000_000, "m"), (1_000, "k")):
        if amount >= size:
            return f"{currency_symbol()}{amount / size:g}{suffix}"
    return f"{currency_symbol()}{amount:g}"


@dataclass(frozen=True)
class TierMark:
    tier: int
    x: float
    customer_share: float
    revenue_share: float
    label_y: float


@dataclass(frozen=True)
class ParetoChart:
    frame: Frame
    line: str
    marks: list[TierMark]
    ticks: list[int]
    tick_positions: list[tuple[int, float, float]]  # (percent, x, y)


def pareto_chart(points: Sequence, tiers: Sequence) -> ParetoChart:
    """Cumulative revenue against customers ranked by revenue, with where each tier ends."""
    frame = Frame(width=480, height=300, left=AXIS_LEFT, right=456, top=12, bottom=256)
    line = " ".join(
        f"{frame.x(point.customer_share, 0, 100)},{frame.y(point.revenue_share, 0, 100)}" for point in points
    )
    customers = sum(tier.customers for tier in tiers)
    revenue = sum(tier.revenue for tier in tiers)
    marks, seen, earned = [], 0, Decimal("0")
    for index, tier in enumerate(tiers[:-1]):  # the last tier ends at 100%
        seen += tier.customers
        earned += tier.revenue
        share = round(100 * seen / customers, 1) if customers else 0.0
        marks.append(TierMark(tier=tier.tier, x=frame.x(share, 0, 100), customer_share=share,
                              revenue_share=round(float(100 * earned / revenue), 1) if revenue else 0.0,
                              label_y=frame.top + 16 * (index + 1)))
    ticks = [0, 25, 50, 75, 100]
    return ParetoChart(frame=frame, line=line, marks=marks, ticks=ticks,
                       tick_positions=[(tick, frame.x(tick, 0, 100), frame.y(tick, 0, 100)) for tick in ticks])

"""The insights charts' layouts: pure functions from figures to SVG coordinates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from insights.dashboard import charts
from insights.dashboard.figures import BandMix, Breakdown, Bucket, ParetoPoint, TierFigure


def buckets(*mixes: BandMix) -> list[Bucket]:
    return [Bucket(start=date(2026, 6, 1 + 7 * n), mix=mix) for n, mix in enumerate(mixes)]


class TestNiceCeiling:
    @pytest.mark.parametrize("value, top", [(0, 1), (1, 1), (7, 10), (12, 20), (180, 200), (230, 250), (480, 500)])
    def test_it_rounds_up_to_a_round_number(self, value, top):
        assert charts.nice_ceiling(value) == top


class TestBandMix:
    def test_bars_stack_at_risk_then_satisfied_then_promoters_to_scale(self):
        chart = charts.band_mix_chart(buckets(BandMix(promoter=5, satisfied=3, at_risk=2)), weekly=True)
        (column,) = chart.columns
        assert [segment.band for segment in column.segments] == ["at_risk", "satisfied", "promoter"]
        heights = [segment.height for segment in column.segments]
        assert heights == [pytest.approx(chart.frame.plot_height * n / 10, abs=0.1) for n in (2, 3, 5)]
        # Stacked: each segment starts where the one below ends.
        assert column.segments[0].y == pytest.approx(chart.frame.bottom - heights[0], abs=0.1)
        assert column.segments[1].y == pytest.approx(column.segments[0].y - heights[1], abs=0.2)

    def test_an_empty_week_has_no_bar_but_keeps_its_place(self):
        chart = charts.band_mix_chart(buckets(BandMix(promoter=1), BandMix(), BandMix(at_risk=1)), weekly=True)
        assert [len(column.segments) for column in chart.columns] == [1, 0, 1]
        assert [column.label for column in chart.columns] == ["1 Jun", "8 Jun", "15 Jun"]


    def test_the_answers_axis_counts_in_whole_numbers(self):
        assert [tick.text for tick in charts.band_mix_chart(buckets(BandMix()), weekly=True).y_ticks] == ["0", "1"]
        chart = charts.band_mix_chart(buckets(BandMix(promoter=1800)), weekly=True)
        assert [tick.text for tick in chart.y_ticks] == ["0", "1,000", "2,000"]


class TestNetScore:
    def test_an_empty_bucket_breaks_the_line(self):
        chart = charts.net_score_chart(
            buckets(BandMix(promoter=1), BandMix(at_risk=1), BandMix(), BandMix(satisfied=2)), weekly=True
        )
        assert [len(line.split()) for line in chart.lines] == [2, 1]
        assert [point.y for point in chart.points[:2]] == [chart.frame.top, chart.frame.bottom]

    def test_months_are_labelled_by_month(self):
        chart = charts.net_score_chart([Bucket(date(2026, 1, 1), BandMix(promoter=1))], weekly=False)
        assert [label.text for label in chart.x_labels] == ["Jan 26"]


class TestBandBars:
    def test_each_row_is_split_by_share_and_long_names_are_shortened(self):
        rows = [Breakdown(key="ana", label="Anastasia Featherstonehaugh", mix=BandMix(promoter=1, at_risk=3))]
        (row,) = charts.band_bars_chart(rows).rows
        assert row.label == "Anastasia Feat…"
        assert row.is_shortened and row.breakdown.label == "Anastasia Featherstonehaugh"
        assert [(segment.band, segment.share) for segment in row.segments] == [("promoter", 25.0), ("at_risk", 75.0)]


def customer(pk: int, revenue: int, score: int, on_time_rate: float | None = 0.95) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, name=f"Customer {pk}", tier=1, revenue_12m=Decimal(revenue), answer_score=score,
                           on_time_rate=on_time_rate)


class TestValueMap:
    def map(self, *customers, threshold=Decimal(50_000)):
        return charts.value_map(customers, threshold=threshold, customer_url=lambda pk: f"/customers/{pk}/")

    def test_revenue_runs_on_a_log_scale_between_round_decades(self):
        chart = self.map(customer(1, 1_500, 9), customer(2, 150_000, 2))
        assert [tick.text for tick in chart.x_ticks] == ["€1k", "€10k", "€100k", "€1m"]
        small, large = sorted(chart.points, key=lambda point: point.x)
        assert large.radius > small.radius
        # 10k → 100k spans as far as 100k → 1m.
        ticks = [tick.x for tick in chart.x_ticks]
        assert ticks[2] - ticks[1] == pytest.approx(ticks[3] - ticks[2], abs=0.2)

    def test_a_lower_score_sits_lower_whatever_the_nudge(self):
        chart = self.map(*(customer(pk, 10_000, score) for pk, score in [(1, 1), (2, 4), (3, 5), (4, 6), (5, 10)]))
        by_score = sorted(chart.points, key=lambda point: point.score)
        assert [point.y for point in by_score] == sorted((point.y for point in by_score), reverse=True)
        assert all(point.y > chart.satisfied_y for point in by_score if point.score < 6)
        assert all(point.y < chart.satisfied_y for point in by_score if point.score >= 6)

    def test_points_are_coloured_by_punctuality(self):
        chart = self.map(customer(1, 10_000, 9, 0.95), customer(2, 10_000, 9, 0.8), customer(3, 10_000, 9, 0.5),
                         customer(4, 10_000, 9, None))
        assert {point.name: point.punctuality for point in chart.points} == {
            "Customer 1": "on-time", "Customer 2": "late", "Customer 3": "very-late", "Customer 4": "unknown",
        }

    def test_the_value_line_stands_at_the_high_value_threshold(self):
        chart = self.map(customer(1, 1_000, 9), customer(2, 100_000, 9), threshold=Decimal(10_000))
        assert chart.value_x == pytest.approx((chart.frame.left + chart.frame.right) / 2, abs=0.2)

    def test_the_table_lists_the_most_valuable_first(self):
        chart = self.map(customer(1, 1_000, 9), customer(2, 900_000, 3))
        assert [point.name for point in chart.rows] == ["Customer 2", "Customer 1"]
        assert chart.rows[0].title == "Customer 2: revenue €900,000, latest score 3, tier 1, paid on time 95%"


class TestPareto:
    def test_tier_boundaries_are_marked_where_each_tier_ends(self):
        tiers = [TierFigure(1, 1, Decimal(700), Decimal(700)), TierFigure(2, 1, Decimal(200), Decimal(200)),
                 TierFigure(3, 2, Decimal(100), Decimal(40))]
        points = [ParetoPoint(0, 0), ParetoPoint(25, 70), ParetoPoint(50, 90), ParetoPoint(100, 100)]
        chart = charts.pareto_chart(points, tiers)
        assert [(mark.tier, mark.customer_share, mark.revenue_share) for mark in chart.marks] == [
            (1, 25.0, 70.0), (2, 50.0, 90.0),
        ]
        assert chart.line.split()[0] == f"{float(chart.frame.left)},{float(chart.frame.bottom)}"
        assert chart.line.split()[-1] == f"{float(chart.frame.right)},{float(chart.frame.top)}"


class TestLabelsInside:
    def test_a_centred_label_at_an_edge_is_anchored_so_it_is_not_cut(self):
        assert charts.kept_inside(charts.Label(x=470, y=0, text="29 Jun"), width=480).anchor == "end"
        assert charts.kept_inside(charts.Label(x=4, y=0, text="29 Jun"), width=480).anchor == "start"
        assert charts.kept_inside(charts.Label(x=240, y=0, text="29 Jun"), width=480).anchor == "middle"

    def test_each_bars_number_names_itself_the_net_score(self):
        rows = [Breakdown(key=1, label="Tier 1", mix=BandMix(promoter=3, at_risk=1)),
                Breakdown(key=2, label="Tier 2", mix=BandMix())]
        first, second = charts.band_bars_chart(rows).rows
        assert (first.value_text, second.value_text) == ("net +50", "no answers")

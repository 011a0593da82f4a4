"""Sending windows in the customer's time zone, and the day a daily cap counts: the rules."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from surveys.models import Survey
from surveys.windows import SendWindow, day_bounds, start_of_next_day

MADRID = ZoneInfo("Europe/Madrid")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS_9_TO_5 = SendWindow(days=frozenset(range(5)), start=time(9), end=time(17))


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


class TestSendWindow:
    def test_a_window_open_all_week_all_day_never_delays(self):
        moment = local(MADRID, 2026, 6, 13, 3, 0)
        assert SendWindow().next_open(moment, zone=MADRID) == moment

    def test_inside_the_window_an_email_goes_at_once(self):
        tuesday_noon = local(MADRID, 2026, 6, 16, 12, 0)
        assert WEEKDAYS_9_TO_5.next_open(tuesday_noon, zone=MADRID) == tuesday_noon

    def test_before_opening_it_waits_for_the_morning(self):
        tuesday_early = local(MADRID, 2026, 6, 16, 7, 30)
        assert WEEKDAYS_9_TO_5.next_open(tuesday_early, zone=MADRID) == local(MADRID, 2026, 6, 16, 9, 0)

    def test_at_closing_time_it_waits_for_the_next_day(self):
        tuesday_five = local(MADRID, 2026, 6, 16, 17, 0)
        assert WEEKDAYS_9_TO_5.next_open(tuesday_five, zone=MADRID) == local(MADRID, 2026, 6, 17, 9, 0)

    def test_a_weekend_waits_for_monday_morning(self):
        saturday = local(MADRID, 2026, 6, 13, 10, 0)
        assert WEEKDAYS_9_TO_5.next_open(saturday, zone=MADRID) == local(MADRID, 2026, 6, 15, 9, 0)

    def test_the_same_moment_is_a_different_local_time_for_each_customer(self):
        moment = datetime(2026, 6, 16, 23, 0, tzinfo=UTC)  # Tuesday 19:00 in New York, Wednesday 08:00 in Tokyo
        assert WEEKDAYS_9_TO_5.next_open(moment, zone=NEW_YORK) == local(NEW_YORK, 2026, 6, 17, 9, 0)
        assert WEEKDAYS_9_TO_5.next_open(moment, zone=TOKYO) == local(TOKYO, 2026, 6, 17, 9, 0)

    def test_the_result_is_in_utc(self):
        result = WEEKDAYS_9_TO_5.next_open(local(MADRID, 2026, 6, 13, 10, 0), zone=MADRID)
        assert result.tzinfo == UTC and result == datetime(2026, 6, 15, 7, 0, tzinfo=UTC)

    def test_nine_in_the_morning_moves_in_utc_when_the_clocks_go_back(self):
        saturday = local(BERLIN, 2026, 10, 24, 18, 0)  # summer time; the clocks go back on Sunday the 25th
        window = SendWindow(start=time(9), end=time(17))
        assert window.next_open(saturday, zone=BERLIN) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # 09:00 CET
        friday = local(BERLIN, 2026, 10, 23, 18, 0)
        assert window.next_open(friday, zone=BERLIN) == datetime(2026, 10, 24, 7, 0, tzinfo=UTC)  # 09:00 CEST

    def test_an_opening_time_the_clock_skips_stands_for_an_hour_later(self):
        # On 29 March 2026 Berlin's clocks jump from 02:00 to 03:00: 02:30 does not happen.
        window = SendWindow(start=time(2, 30), end=time(17))
        opens = window.next_open(local(BERLIN, 2026, 3, 29, 0, 30), zone=BERLIN)
        assert opens == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        assert opens.astimezone(BERLIN).time() == time(3, 30)


class TestDays:
    def test_the_day_after_the_clocks_spring_forward_starts_23_hours_later(self):
        start, end = day_bounds(local(BERLIN, 2026, 3, 29, 12, 0), zone=BERLIN)
        assert (end - start).total_seconds() == 23 * 3600
        assert start_of_next_day(local(BERLIN, 2026, 3, 29, 12, 0), zone=BERLIN) == end


@pytest.mark.django_db
class TestSurveyWindowSettings:
    def test_the_survey_gives_its_window(self):
        survey = Survey(slug="w", name="W", send_days="0,1,2,3,4", send_from=time(9), send_until=time(17))
        assert survey.send_window == WEEKDAYS_9_TO_5

    def test_a_window_that_ends_before_it_starts_is_refused_naming_the_field(self):
        survey = Survey(slug="w", name="W", send_from=time(17), send_until=time(9))
        with pytest.raises(ValidationError) as error:
            survey.full_clean()
        assert "send_until" in error.value.message_dict

    def test_days_must_be_numbers_of_the_week(self):
        survey = Survey(slug="w", name="W", send_days="1,2,sunday")
        with pytest.raises(ValidationError) as error:
            survey.full_clean()
        assert "send_days" in error.value.message_dict

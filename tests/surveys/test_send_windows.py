"""Sending windows in the customer's time zone, and the day a daily cap counts: the rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone as django_timezone

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


def due_invitation(survey: Survey, *, at: datetime, time_zone: str = "", tier: int | None = 3, revenue: str = "1000"):
    from decimal import Decimal

    from tests.factories import CustomerFactory, DeliveryFactory, InvitationFactory

    customer = CustomerFactory(time_zone=time_zone, tier=tier, revenue_12m=Decimal(revenue))
    delivery = DeliveryFactory(customer=customer, survey=survey)
    return InvitationFactory(delivery=delivery, scheduled_for=at, expires_at=at + timedelta(days=14))


def weekday_survey(**fields) -> Survey:
    return Survey.objects.create(
        slug="weekdays", name="Weekdays", send_days="0,1,2,3,4", send_from=time(9), send_until=time(17), **fields
    )


@pytest.mark.django_db
class TestSendingInTheWindow:
    def test_an_invitation_due_on_saturday_waits_for_monday_morning_in_the_customers_zone(self, mailoutbox):
        from surveys import services

        saturday = local(MADRID, 2026, 6, 13, 10, 0)
        invitation = due_invitation(weekday_survey(), at=saturday, time_zone="Europe/Madrid")

        assert services.send_due_invitations(now=saturday) == 0
        invitation.refresh_from_db()
        assert invitation.next_attempt_at == local(MADRID, 2026, 6, 15, 9, 0)
        assert invitation.status == "scheduled" and mailoutbox == []

        assert services.send_due_invitations(now=local(MADRID, 2026, 6, 15, 9, 0)) == 1
        assert len(mailoutbox) == 1

    def test_each_customer_waits_for_their_own_morning(self):
        from surveys import services

        moment = datetime(2026, 6, 16, 23, 0, tzinfo=UTC)
        survey = weekday_survey()
        in_new_york = due_invitation(survey, at=moment, time_zone="America/New_York")
        in_tokyo = due_invitation(survey, at=moment, time_zone="Asia/Tokyo")

        services.send_due_invitations(now=moment)

        in_new_york.refresh_from_db()
        in_tokyo.refresh_from_db()
        assert in_new_york.next_attempt_at == local(NEW_YORK, 2026, 6, 17, 9, 0)
        assert in_tokyo.next_attempt_at == local(TOKYO, 2026, 6, 17, 9, 0)

    def test_a_customer_without_a_zone_reads_in_the_default_one(self, settings):
        from surveys import services

        settings.DEFAULT_CUSTOMER_TIME_ZONE = "Asia/Tokyo"
        moment = datetime(2026, 6, 16, 23, 0, tzinfo=UTC)
        invitation = due_invitation(weekday_survey(), at=moment)

        services.send_due_invitations(now=moment)

        invitation.refresh_from_db()
        assert invitation.next_attempt_at == local(TOKYO, 2026, 6, 17, 9, 0)

    def test_the_morning_after_the_clocks_go_back_opens_an_hour_later_in_utc(self):
        from surveys import services

        saturday_evening = local(BERLIN, 2026, 10, 24, 18, 0)
        survey = Survey.objects.create(slug="daily", name="Daily", send_from=time(9), send_until=time(17))
        invitation = due_invitation(survey, at=saturday_evening, time_zone="Europe/Berlin")

        services.send_due_invitations(now=saturday_evening)

        invitation.refresh_from_db()
        assert invitation.next_attempt_at == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
class TestDailyCap:
    def test_the_most_valuable_customers_go_first_and_the_rest_wait_for_tomorrow(self, mailoutbox, settings):
        from surveys import services

        settings.TIME_ZONE = "Europe/Madrid"
        now = local(MADRID, 2026, 6, 16, 11, 0)
        survey = Survey.objects.create(slug="capped", name="Capped", daily_cap=2)
        small = due_invitation(survey, at=now, tier=4, revenue="100")
        biggest = due_invitation(survey, at=now, tier=1, revenue="900000")
        big = due_invitation(survey, at=now, tier=1, revenue="500000")
        no_tier = due_invitation(survey, at=now, tier=None, revenue="0")

        assert services.send_due_invitations(now=now) == 2
        assert sorted(parseaddr(message.to[0])[1] for message in mailoutbox) == sorted(
            [biggest.contact.email, big.contact.email]
        )
        for waiting in (small, no_tier):
            waiting.refresh_from_db()
            assert (waiting.status, waiting.next_attempt_at) == ("scheduled", local(MADRID, 2026, 6, 17, 0, 0))

        assert services.send_due_invitations(now=now + timedelta(hours=2)) == 0  # still today
        assert services.send_due_invitations(now=local(MADRID, 2026, 6, 17, 0, 0)) == 2

    def test_what_went_earlier_today_counts_against_the_cap(self):
        from surveys import services

        # The real clock: what went is counted by when it really left.
        now = django_timezone.now()
        survey = Survey.objects.create(slug="capped", name="Capped", daily_cap=1)
        due_invitation(survey, at=now)
        assert services.send_due_invitations(now=now) == 1
        later = due_invitation(survey, at=now)

        assert services.send_due_invitations(now=now) == 0

        later.refresh_from_db()
        assert later.next_attempt_at == start_of_next_day(now, zone=UTC)

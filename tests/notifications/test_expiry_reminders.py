"""Approved returns whose parcel hasn't moved are reminded once, a while before they expire."""

from __future__ import annotations

from datetime import timedelta

import pytest

from awda.core import clock
from awda.core.formatting import format_date
from awda.core.models import Event
from awda.policies.document import parse_policy
from awda.returns.models import Return
from awda.returns.services import cancel_return, remind_unshipped_returns
from awda.shipping import services as shipping
from awda.shipping.carriers.base import TrackingStatus
from tests import factories
from tests.notifications.journey import (
    assert_opens_the_status_page,
    dispatch_events,
    link_in,
    new_return,
    translated,
)

pytestmark = pytest.mark.django_db


def _keep_item_merchant():
    data = factories.default_policy().to_data()
    data["defaults"].update(methods=["label", "keep_item"], keep_item_threshold_minor=5000)
    return factories.merchant(policy=parse_policy(data))


def _reminders() -> list[str]:
    return list(Event.objects.filter(name="ReturnExpiring").values_list("aggregate_id", flat=True))


def _a_day_before_expiry(ret: Return):
    return clock.frozen_at(ret.expires_at - timedelta(days=1))


def test_an_unshipped_return_is_reminded_once_however_often_the_job_runs(merchant, sandbox):
    ret = new_return(merchant)

    with _a_day_before_expiry(ret):
        assert remind_unshipped_returns() == 1
        assert remind_unshipped_returns() == 0
    with clock.frozen_at(ret.expires_at - timedelta(hours=1)):
        assert remind_unshipped_returns() == 0

    assert _reminders() == [str(ret.pk)]
    ret.refresh_from_db()
    assert ret.expiry_reminder_sent_at is not None
    assert ret.status == "approved"  # a reminder changes nothing else


def test_a_return_expiring_after_the_reminder_window_is_not_reminded_yet(merchant):
    ret = new_return(merchant)

    with clock.frozen_at(ret.expires_at - timedelta(days=3)):
        assert remind_unshipped_returns(before=timedelta(days=2)) == 0
    with clock.frozen_at(ret.expires_at - timedelta(days=3)):
        assert remind_unshipped_returns(before=timedelta(days=4)) == 1


def test_returns_shipped_closed_kept_or_already_expired_get_no_reminder(merchant, sandbox):
    shipped = new_return(merchant)
    shipment = shipping.issue_return_shipment(return_id=shipped.pk)
    shipping.advance_sandbox_parcel(
        tracking_number=shipment.tracking_number, to=TrackingStatus.FIRST_SCAN
    )
    cancelled = new_return(merchant)
    cancel_return(merchant=merchant, number=cancelled.number, actor="shopper")
    kept = new_return(_keep_item_merchant(), method="keep_item", price=1000)
    overdue = new_return(merchant)

    with clock.frozen_at(overdue.expires_at + timedelta(minutes=5)):
        # Past its date, the expiry job's turn (every ten minutes): no "send it by" a past day.
        assert remind_unshipped_returns(before=timedelta(days=30)) == 0
    with _a_day_before_expiry(shipped):
        assert remind_unshipped_returns(before=timedelta(days=30)) == 1

    assert _reminders() == [str(overdue.pk)]  # the one still waiting for its parcel
    assert kept.status == "completed"  # nothing to send: closed at once


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_reminder_mail_names_the_last_day_and_carries_the_label_again(
    smtp, texts, merchant, sandbox, lang
):
    ret = new_return(merchant, language=lang)
    shipping.issue_return_shipment(return_id=ret.pk)

    with _a_day_before_expiry(ret):
        remind_unshipped_returns()
        assert dispatch_events("ReturnExpiring", ret) == 1

    mail = smtp.only()
    store = merchant.name if lang == "en" else merchant.name_ar
    assert mail.subject == translated(
        lang,
        "Reminder: please send your return %(number)s to %(store)s",
        number=ret.number,
        store=store,
    )
    last_day = format_date(ret.expires_at, lang, tz=merchant.timezone)
    assert last_day in mail.text
    assert f"label-{ret.number}.pdf" in {p.get_filename() for p in mail.message.iter_attachments()}
    assert_opens_the_status_page(link_in(mail.text), ret)
    [message] = texts
    assert last_day in message.text


def test_a_reminder_whose_parcel_moved_before_the_worker_came_is_not_sent(
    smtp, texts, merchant, sandbox
):
    ret = new_return(merchant)
    shipment = shipping.issue_return_shipment(return_id=ret.pk)
    with _a_day_before_expiry(ret):
        remind_unshipped_returns()
        shipping.advance_sandbox_parcel(
            tracking_number=shipment.tracking_number, to=TrackingStatus.FIRST_SCAN
        )
        dispatch_events("ReturnExpiring", ret)

    assert smtp.received == [] and texts == []

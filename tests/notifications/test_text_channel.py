"""Text messages go to the configured channel: the console channel by default (a line in the
data dir's sms.log), none when the setting is empty; each short enough for one SMS."""

from __future__ import annotations

import logging

import pytest

from awda.notifications.channels import ConsoleChannel, text_channel
from awda.notifications.services import send_step_text
from awda.returns.services import reject_return
from awda.shipping import services as shipping
from awda.shipping.carriers.base import TrackingStatus
from tests.notifications.journey import assert_fits_one_sms, dispatch_events, new_return

pytestmark = pytest.mark.django_db


def test_the_console_channel_writes_one_line_per_message_and_keeps_the_log_clean(
    settings, tmp_path, caplog
):
    settings.DATA_DIR = tmp_path
    settings.AWDA_TEXT_CHANNEL = "awda.notifications.channels.ConsoleChannel"
    channel = text_channel()
    assert isinstance(channel, ConsoleChannel)

    with caplog.at_level(logging.INFO, logger="awda.notifications.channels"):
        channel.send(to="+966500000001", text="Store 1: return R-1\nis approved", language="en")
        channel.send(to="+966500000002", text="متجر 1: قُبل الإرجاع", language="ar")

    lines = (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert lines[0].split("\t")[1:] == ["+966500000001", "en", "Store 1: return R-1 is approved"]
    assert lines[1].split("\t")[1:] == ["+966500000002", "ar", "متجر 1: قُبل الإرجاع"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "…0001" in logged and "+966500000001" not in logged and "approved" not in logged


def test_the_default_channel_is_the_console_and_an_empty_setting_turns_texts_off(settings):
    del settings.AWDA_TEXT_CHANNEL  # not configured at all
    assert isinstance(text_channel(), ConsoleChannel)
    settings.AWDA_TEXT_CHANNEL = ""
    assert text_channel() is None


def test_no_text_channel_sends_nothing_and_fails_nothing(settings, merchant):
    settings.AWDA_TEXT_CHANNEL = ""
    ret = new_return(merchant, reason="defective")
    reject_return(merchant=merchant, number=ret.number, actor="agent", reason="Used")

    assert dispatch_events("ReturnRejected", ret) == 1  # handlers complete


def test_a_customer_without_a_phone_number_gets_no_text(texts, merchant):
    ret = new_return(merchant, reason="defective")
    reject_return(merchant=merchant, number=ret.number, actor="agent", reason="Used")
    type(ret.customer).objects.filter(pk=ret.customer_id).update(phone="")

    send_step_text(event="ReturnRejected", payload={"return_id": ret.pk})

    assert texts == []


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("method", ["label", "qr_dropoff"])
def test_every_step_fits_one_text_message_before_its_link(settings, texts, merchant, lang, method):
    shipping.connect_carrier(merchant=merchant, carrier="sandbox", name="Sandbox", settings={})
    ret = new_return(merchant, language=lang, method=method)
    shipment = shipping.issue_return_shipment(return_id=ret.pk)
    dispatch_events("LabelIssued", ret)
    shipping.advance_sandbox_parcel(
        tracking_number=shipment.tracking_number, to=TrackingStatus.FIRST_SCAN
    )
    dispatch_events("FirstScanRecorded", ret)
    shipping.advance_sandbox_parcel(
        tracking_number=shipment.tracking_number, to=TrackingStatus.DELIVERED
    )
    dispatch_events("ParcelDelivered", ret)

    assert len(texts) == 3
    for message in texts:
        body, link = message.text.rsplit(" ", 1)
        assert link.startswith(settings.AWDA_PUBLIC_URL) and ret.number in link
        assert ret.number in body
        assert_fits_one_sms(message.text, lang)
        assert message.language == lang

"""The shopper hears of every step of their return's trip back by e-mail (received by a real
SMTP server and read as a mail client would) and by text message, in their language."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from awda.core import clock
from awda.core.formatting import format_date, format_time
from awda.returns.services import record_receipt, reject_return
from awda.shipping import services as shipping
from awda.shipping.carriers.base import TrackingStatus
from awda.shipping.models import Pickup, Shipment
from tests.notifications.journey import (
    ARABIC,
    assert_fits_one_sms,
    assert_opens_the_status_page,
    dispatch_events,
    link_in,
    new_return,
    translated,
)

pytestmark = pytest.mark.django_db


def _shipped(merchant, **kw):
    """A return and its parcel from the sandbox carrier (the label job's first half)."""
    ret = new_return(merchant, **kw)
    shipment = shipping.issue_return_shipment(return_id=ret.pk)
    assert shipment is not None
    return ret, shipment


def _pickup_day() -> date:
    day = clock.now().date() + timedelta(days=3)
    return day if day.weekday() != 4 else day + timedelta(days=1)  # no pickups on Fridays


def _attachments(mail):
    return {part.get_filename(): part for part in mail.message.iter_attachments()}


# -- the label, the QR code, the courier ---------------------------------------------------------


def test_a_label_return_gets_its_a4_label_attached_with_a_status_link_that_opens_its_page(
    smtp, texts, merchant, sandbox
):
    ret, shipment = _shipped(merchant)

    dispatch_events("LabelIssued", ret)

    mail = smtp.only()
    assert mail.rcpt_tos == ["shopper@example.com"]
    assert mail.subject == f"Your return label for {ret.number} at {merchant.name}"
    assert '<html lang="en" dir="ltr">' in mail.html
    text = mail.text
    assert "Print the attached label" in text and "Sandbox Express" in text
    assert shipment.tracking_number in text and shipment.tracking_number in mail.html
    assert not ARABIC.search(text)
    label = _attachments(mail)[f"label-{ret.number}.pdf"]
    assert label.get_content_type() == "application/pdf"
    pdf = label.get_content()
    assert pdf.startswith(b"%PDF")
    width, height = pypdfium2.PdfDocument(pdf)[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points: for office printers
    url = link_in(text)
    assert f'href="{url}"' in mail.html
    assert_opens_the_status_page(url, ret)
    [message] = texts
    assert message.to == "+966500000001" and message.language == "en"
    assert_opens_the_status_page(link_in(message.text), ret)


def test_an_arabic_return_hears_of_its_label_in_arabic_right_to_left(
    smtp, texts, merchant, sandbox
):
    ret, _shipment = _shipped(merchant, language="ar")

    dispatch_events("LabelIssued", ret)

    mail = smtp.only()
    subject = mail.subject
    english = "Your return label for %(number)s at %(store)s"
    assert subject == translated("ar", english, number=ret.number, store=merchant.name_ar)
    assert ARABIC.search(subject.replace(merchant.name_ar, ""))
    assert mail.message["Content-Language"] == "ar"
    html = mail.html
    assert '<html lang="ar" dir="rtl">' in html
    assert 'dir="rtl"' in html.split("<body", 1)[1]
    assert "Print the attached label" not in mail.text and ARABIC.search(mail.text)
    assert f"label-{ret.number}.pdf" in _attachments(mail)
    url = link_in(mail.text)
    assert "/ar/" in url
    assert_opens_the_status_page(url, ret)
    [message] = texts
    assert message.language == "ar" and ARABIC.search(message.text)


def test_a_drop_off_return_gets_a_qr_code_its_mail_client_shows_and_the_nearby_points(
    smtp, merchant, sandbox
):
    shipping.save_drop_off_points(
        merchant=merchant,
        points=[
            shipping.DropOffPointData(
                carrier="sandbox",
                code="RUH-1",
                name_en="Olaya Kiosk",
                name_ar="كشك العليا",
                address_en="Olaya Street 12",
                city_en="Riyadh",
                country="SA",
                hours_en="9:00–22:00",
            )
        ],
    )
    ret, shipment = _shipped(merchant, method="qr_dropoff")

    dispatch_events("LabelIssued", ret)

    mail = smtp.only()
    assert mail.subject == f"Your QR code for return {ret.number} at {merchant.name}"
    assert mail.message.get_content_type() == "multipart/related"
    html = mail.html
    [image] = [p for p in mail.message.iter_attachments() if p.get_content_type() == "image/png"]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html  # the HTML shows the image the mail carries
    assert image.get_content_disposition() == "inline"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
    assert [r.text for r in decoded] == [shipment.qr_payload]
    assert not [name for name in _attachments(mail) if name and name.endswith(".pdf")]
    assert "Olaya Kiosk" in mail.text and "Olaya Street 12, Riyadh" in html
    assert "no printer" in mail.text
    assert_opens_the_status_page(link_in(mail.text), ret)


def test_a_pickup_return_is_told_a_courier_will_call_until_the_collection_is_booked(
    smtp, merchant, sandbox
):
    ret, _shipment = _shipped(merchant, method="pickup")

    dispatch_events("LabelIssued", ret)

    mail = smtp.only()
    assert mail.subject == f"Courier pickup for your return {ret.number} at {merchant.name}"
    assert "A courier will contact you" in mail.text
    assert not _attachments(mail)


def test_the_label_job_that_booked_the_courier_gives_the_window_in_the_label_mail(
    smtp, merchant, sandbox
):
    day = _pickup_day()
    ret = new_return(
        merchant, method="pickup", pickup={"date": day.isoformat(), "slot": "afternoon"}
    )

    dispatch_events("ReturnApproved", ret)  # the worker's label job: parcel, then the courier
    dispatch_events("LabelIssued", ret)

    pickup = Pickup.objects.get(shipment__return_request=ret)
    text = smtp.received[-1].text
    assert format_date(pickup.window_start, "en", tz="Asia/Riyadh") in text
    start = format_time(pickup.window_start, "en", tz="Asia/Riyadh")
    end = format_time(pickup.window_end, "en", tz="Asia/Riyadh")
    assert (start, end) == ("3:00\u202fpm", "6:00\u202fpm")  # 15:00 to 18:00 in Riyadh
    assert f"between {start} and {end}" in text
    assert "A courier will contact you" not in text


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_booked_and_a_rebooked_pickup_give_the_window_in_the_stores_timezone_and_locale(
    smtp, texts, merchant, sandbox, lang
):
    ret, shipment = _shipped(merchant, method="pickup", language=lang)
    slots = shipping.pickup_slots(
        merchant=merchant, address=shipping.shopper_address(ret), day=_pickup_day()
    )
    shipping.schedule_pickup(shipment=shipment, slot=slots[2])
    dispatch_events("PickupScheduled", ret)
    shipping.schedule_pickup(shipment=shipment, slot=slots[0])  # the shopper moves it
    dispatch_events("PickupScheduled", ret)

    booked, rebooked = smtp.received
    store = merchant.name if lang == "en" else merchant.name_ar
    assert booked.subject == translated(
        lang,
        "Courier pickup booked for your return %(number)s at %(store)s",
        number=ret.number,
        store=store,
    )
    assert rebooked.subject == translated(
        lang,
        "New courier pickup time for your return %(number)s at %(store)s",
        number=ret.number,
        store=store,
    )
    for mail, slot in ((booked, slots[2]), (rebooked, slots[0])):
        # 15:00 and 09:00 in Riyadh, whatever the server's zone, as the portal writes them.
        assert format_date(slot.start, lang, tz="Asia/Riyadh") in mail.text
        assert format_time(slot.start, lang, tz="Asia/Riyadh") in mail.text
        assert format_time(slot.end, lang, tz="Asia/Riyadh") in mail.text
        assert_opens_the_status_page(link_in(mail.text), ret)
    assert format_time(slots[0].start, lang, tz="Asia/Riyadh") not in booked.text
    assert len(texts) == 2
    start = format_time(slots[0].start, lang, tz="Asia/Riyadh")
    assert " ".join(start.split()) in texts[1].text  # with a plain space: see the SMS test
    for message in texts:
        assert_fits_one_sms(message.text, lang)


def test_a_booking_replaced_before_its_mail_went_out_sends_nothing(smtp, merchant, sandbox):
    ret, shipment = _shipped(merchant, method="pickup")
    slots = shipping.pickup_slots(
        merchant=merchant, address=shipping.shopper_address(ret), day=_pickup_day()
    )
    first = shipping.schedule_pickup(shipment=shipment, slot=slots[0])
    shipping.cancel_pickup(pickup=first)

    dispatch_events("PickupScheduled", ret)

    assert smtp.received == []


# -- the parcel's trip ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_shopper_hears_when_the_parcel_moves_arrives_and_is_received(
    smtp, texts, merchant, sandbox, lang
):
    ret, shipment = _shipped(merchant, language=lang)
    store = merchant.name if lang == "en" else merchant.name_ar
    steps = [
        ("FirstScanRecorded", "Your return %(number)s at %(store)s is on its way"),
        ("ParcelDelivered", "Your return %(number)s has reached %(store)s"),
        ("ReturnReceived", "%(store)s has received your return %(number)s"),
    ]

    for event, subject in steps:
        if event == "FirstScanRecorded":
            shipping.advance_sandbox_parcel(
                tracking_number=shipment.tracking_number, to=TrackingStatus.FIRST_SCAN
            )
        elif event == "ParcelDelivered":
            shipping.advance_sandbox_parcel(
                tracking_number=shipment.tracking_number, to=TrackingStatus.DELIVERED
            )
        else:
            record_receipt(merchant=merchant, number=ret.number, actor="warehouse")
        assert dispatch_events(event, ret) == 1

        mail = smtp.received[-1]
        expected = translated(lang, subject, number=ret.number, store=store)
        assert mail.subject == expected
        if lang == "ar":
            assert expected != subject % {"number": ret.number, "store": store}
            assert '<html lang="ar" dir="rtl">' in mail.html
        else:
            assert '<html lang="en" dir="ltr">' in mail.html
        assert_opens_the_status_page(link_in(mail.text), ret)
        assert_opens_the_status_page(link_in(texts[-1].text), ret)

    assert len(smtp.received) == len(texts) == 3


def test_a_parcel_delivered_without_a_first_scan_sends_only_the_delivered_mail(
    smtp, merchant, sandbox
):
    ret, shipment = _shipped(merchant)
    shipping.advance_sandbox_parcel(
        tracking_number=shipment.tracking_number, to=TrackingStatus.DELIVERED
    )

    dispatch_events("FirstScanRecorded", ret)  # recorded with the delivery: no longer news
    dispatch_events("ParcelDelivered", ret)

    mail = smtp.only()
    assert mail.subject == f"Your return {ret.number} has reached {merchant.name}"
    assert "We will check the items" in mail.text


def test_a_label_issued_for_a_return_cancelled_meanwhile_sends_nothing(smtp, merchant, sandbox):
    ret, shipment = _shipped(merchant)
    Shipment.objects.filter(pk=shipment.pk).update(status="cancelled")  # the carrier voided it

    dispatch_events("LabelIssued", ret)

    assert smtp.received == []


# -- rejected and expired -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_rejected_return_is_told_so_with_the_reason(smtp, texts, merchant, lang):
    ret = new_return(merchant, reason="defective", language=lang)
    assert ret.status == "pending_review"
    reject_return(
        merchant=merchant, number=ret.number, actor="agent", reason="Item shows signs of use"
    )

    dispatch_events("ReturnRejected", ret)

    mail = smtp.only()
    store = merchant.name if lang == "en" else merchant.name_ar
    assert mail.subject == translated(
        lang, "Your return %(number)s at %(store)s was not accepted", number=ret.number, store=store
    )
    assert "Item shows signs of use" in mail.text and "Item shows signs of use" in mail.html
    assert translated(lang, "Reason") in mail.text
    assert_opens_the_status_page(link_in(mail.text), ret)
    [message] = texts
    assert ret.number in message.text


def test_an_expired_return_is_told_so(smtp, texts, merchant, sandbox):
    ret, _shipment = _shipped(merchant)
    with clock.frozen_at(ret.expires_at + timedelta(minutes=1)):
        from awda.returns.services import expire_unshipped_returns

        assert expire_unshipped_returns() == 1

    dispatch_events("ReturnExpired", ret)

    mail = smtp.only()
    assert mail.subject == f"Your return {ret.number} at {merchant.name} has expired"
    assert "start a new return" in mail.text
    assert "Tracking number" not in mail.text  # the parcel is no longer news
    assert_opens_the_status_page(link_in(mail.text), ret)
    assert len(texts) == 1


# -- who gets what, and how often ---------------------------------------------------------------


def test_a_shopper_without_an_email_address_gets_the_text_message_only(
    smtp, texts, merchant, sandbox
):
    ret, _shipment = _shipped(merchant, email="")

    dispatch_events("LabelIssued", ret)

    assert smtp.received == []
    [message] = texts
    assert ret.number in message.text


def test_a_step_event_dispatched_again_mails_and_texts_once(smtp, texts, merchant, sandbox):
    from awda.core.models import Event

    ret, _shipment = _shipped(merchant)
    dispatch_events("LabelIssued", ret)
    Event.objects.filter(name="LabelIssued").update(dispatched_at=None)  # as if the ack was lost

    dispatch_events("LabelIssued", ret)

    assert len(smtp.received) == 1 and len(texts) == 1

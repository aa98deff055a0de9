"""Return photos on a real database and a real storage: stored clean, attached once to the
right item, and swept when never used."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pillow_heif
import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from PIL import Image

from awda.core import clock
from awda.core.errors import InvalidInput
from awda.returns import photos
from awda.returns.models import ReturnItem, ReturnPhoto
from awda.returns.photos import attach_photos, delete_unattached_photos, store_photo
from awda.returns.services import ItemRequest, request_return
from awda.tasks import sweep_unattached_photos
from tests import factories

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _jpeg(size=(40, 30), colour=(200, 30, 30)):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (24.0, 42.0, 13.5)})
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _files(root):
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _item(merchant, order, line_ref="1"):
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref=line_ref, quantity=1, reason="too_small")],
        method="label",
    )
    return ReturnItem.objects.get(return_request=ret)


@pytest.fixture
def order(merchant):
    return factories.order(merchant, lines=[factories.line("1"), factories.line("2")])


# -- storing --------------------------------------------------------------------------------


def test_a_stored_photo_is_a_clean_file_under_the_merchant_and_month(merchant, order, media_root):
    moment = clock.now().replace(year=2031, month=3)
    with clock.frozen_at(moment):
        photo = store_photo(merchant=merchant, order=order, data=_jpeg())

    assert re.fullmatch(
        rf"returns/photos/{merchant.pk}/2031/03/[0-9a-f]{{32}}\.jpg", photo.file.name
    ), photo.file.name
    assert default_storage.exists(photo.file.name)
    assert _files(media_root) == [media_root / photo.file.name]
    stored = default_storage.open(photo.file.name).read()
    assert b"SecretCam" not in stored
    assert b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as im:
        assert not im.getexif()
    row = ReturnPhoto.objects.for_merchant(merchant).get()
    assert (row.order_id, row.return_item_id, row.attached_at) == (order.pk, None, None)
    assert (row.content_type, row.width, row.height) == ("image/jpeg", 40, 30)
    assert row.size_bytes == len(stored)
    assert row.created_at == moment
    assert row.sha256 == hashlib.sha256(stored).hexdigest()


def test_an_iphone_heic_is_stored_as_a_jpeg(merchant, order):
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(buffer, "HEIF")

    photo = store_photo(merchant=merchant, order=order, data=buffer.getvalue())

    assert photo.content_type == "image/jpeg"
    assert photo.file.name.endswith(".jpg")


def test_a_file_that_is_not_a_photo_leaves_no_row_and_no_file(merchant, order, media_root):
    with pytest.raises(InvalidInput) as caught:
        store_photo(merchant=merchant, order=order, data=b"%PDF-1.7 not a photo")
    assert caught.value.field == "photos"
    assert not ReturnPhoto.objects.exists()
    assert _files(media_root) == []


def test_the_byte_limit_comes_from_the_settings(merchant, order, settings):
    settings.AWDA_PHOTO_MAX_BYTES = 100
    with pytest.raises(InvalidInput, match="larger than"):
        store_photo(merchant=merchant, order=order, data=_jpeg())


def test_the_pixel_limit_comes_from_the_settings(merchant, order, settings):
    settings.AWDA_PHOTO_MAX_PIXELS = 1000
    with pytest.raises(InvalidInput, match="too many pixels"):
        store_photo(merchant=merchant, order=order, data=_jpeg(size=(40, 30)))


def test_an_order_takes_at_most_the_configured_number_of_photos_attached_or_not(
    merchant, order, settings, media_root
):
    settings.AWDA_PHOTO_MAX_PER_ORDER = 2
    first = store_photo(merchant=merchant, order=order, data=_jpeg())
    attach_photos(merchant=merchant, item=_item(merchant, order), photo_ids=[first.pk])
    store_photo(merchant=merchant, order=order, data=_jpeg())

    with pytest.raises(InvalidInput) as caught:
        store_photo(merchant=merchant, order=order, data=_jpeg())

    assert caught.value.field == "photos"
    assert caught.value.details == {"max_photos": 2}
    assert str(caught.value.message) == "At most 2 photos can be sent for one order."
    assert ReturnPhoto.objects.filter(order=order).count() == 2
    assert len(_files(media_root)) == 2
    # Another order of the same shopper has its own allowance.
    other = factories.order(merchant)
    store_photo(merchant=merchant, order=other, data=_jpeg())


def test_a_photo_refused_after_its_file_was_written_takes_its_file_away(
    merchant, order, settings, media_root, monkeypatch
):
    # The limit is checked before the file is written and again under the order's lock;
    # here a parallel upload takes the last place in between.
    settings.AWDA_PHOTO_MAX_PER_ORDER = 1
    counts = iter([0, 1])
    monkeypatch.setattr(photos, "_photo_count", lambda order: next(counts))

    with pytest.raises(InvalidInput):
        store_photo(merchant=merchant, order=order, data=_jpeg())

    assert not ReturnPhoto.objects.exists()
    assert _files(media_root) == []


def test_a_photo_cant_be_stored_for_another_merchants_order(merchant, order):
    other = factories.merchant()
    with pytest.raises(ValueError, match="another merchant"):
        store_photo(merchant=other, order=order, data=_jpeg())


# -- attaching ------------------------------------------------------------------------------


def test_photos_of_the_order_are_attached_to_the_item(merchant, order):
    stored = [store_photo(merchant=merchant, order=order, data=_jpeg()) for _ in range(2)]
    item = _item(merchant, order)

    with clock.frozen_at(clock.now()) as now:
        attached = attach_photos(
            merchant=merchant, item=item, photo_ids=[stored[1].pk, stored[0].pk, stored[0].pk]
        )

    assert [p.pk for p in attached] == sorted(p.pk for p in stored)
    rows = ReturnPhoto.objects.for_merchant(merchant).order_by("pk")
    assert [(r.return_item_id, r.attached_at) for r in rows] == [(item.pk, now)] * 2
    assert list(item.photos.order_by("pk")) == list(rows)


def test_attaching_no_photos_does_nothing(merchant, order):
    assert attach_photos(merchant=merchant, item=_item(merchant, order), photo_ids=[]) == []


def _refused(merchant, item, ids, *, expected_bad):
    with pytest.raises(InvalidInput) as caught:
        attach_photos(merchant=merchant, item=item, photo_ids=ids)
    assert caught.value.field == "photos"
    assert caught.value.details == {"photo_ids": expected_bad}


def test_another_merchants_photo_is_refused_as_if_it_did_not_exist(merchant, order):
    other = factories.merchant()
    foreign = store_photo(merchant=other, order=factories.order(other), data=_jpeg())
    own = store_photo(merchant=merchant, order=order, data=_jpeg())
    item = _item(merchant, order)

    _refused(merchant, item, [own.pk, foreign.pk], expected_bad=[foreign.pk])
    _refused(merchant, item, [own.pk, 999_999], expected_bad=[999_999])

    # All or nothing: the merchant's own photo wasn't attached either.
    assert not ReturnPhoto.objects.filter(attached_at__isnull=False).exists()


def test_a_photo_uploaded_for_another_order_is_refused(merchant, order):
    elsewhere = store_photo(merchant=merchant, order=factories.order(merchant), data=_jpeg())
    item = _item(merchant, order)

    _refused(merchant, item, [elsewhere.pk], expected_bad=[elsewhere.pk])
    elsewhere.refresh_from_db()
    assert elsewhere.return_item_id is None


def test_a_photo_is_attached_to_one_item_only(merchant, order):
    photo = store_photo(merchant=merchant, order=order, data=_jpeg())
    first = _item(merchant, order, "1")
    second = _item(merchant, order, "2")
    attach_photos(merchant=merchant, item=first, photo_ids=[photo.pk])

    _refused(merchant, second, [photo.pk], expected_bad=[photo.pk])
    photo.refresh_from_db()
    assert photo.return_item_id == first.pk


def test_the_database_refuses_an_attachment_time_without_an_item(merchant, order):
    photo = store_photo(merchant=merchant, order=order, data=_jpeg())
    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnPhoto.objects.filter(pk=photo.pk).update(attached_at=clock.now())


# -- sweeping -------------------------------------------------------------------------------


def test_the_sweep_deletes_old_unattached_photos_with_their_files(merchant, order, media_root):
    with clock.frozen_at(clock.now() - timedelta(hours=25)):
        stale = store_photo(merchant=merchant, order=order, data=_jpeg())
        kept_attached = store_photo(merchant=merchant, order=order, data=_jpeg())
    attach_photos(merchant=merchant, item=_item(merchant, order), photo_ids=[kept_attached.pk])
    with clock.frozen_at(clock.now() - timedelta(hours=23)):
        recent = store_photo(merchant=merchant, order=order, data=_jpeg())

    assert delete_unattached_photos(older_than=timedelta(hours=24)) == 1

    assert set(ReturnPhoto.objects.values_list("pk", flat=True)) == {kept_attached.pk, recent.pk}
    assert not default_storage.exists(stale.file.name)
    assert _files(media_root) == sorted(media_root / p.file.name for p in (kept_attached, recent))
    assert delete_unattached_photos(older_than=timedelta(hours=24)) == 0


def test_the_sweep_works_through_more_photos_than_one_batch(merchant, order, monkeypatch):
    monkeypatch.setattr(photos, "SWEEP_BATCH", 2)
    with clock.frozen_at(clock.now() - timedelta(days=2)):
        for _ in range(5):
            store_photo(merchant=merchant, order=order, data=_jpeg())

    assert delete_unattached_photos(older_than=timedelta(hours=24)) == 5
    assert not ReturnPhoto.objects.exists()


def test_the_hourly_job_sweeps_photos_older_than_a_day(merchant, order, media_root):
    with clock.frozen_at(clock.now() - timedelta(hours=25)):
        store_photo(merchant=merchant, order=order, data=_jpeg())

    sweep_unattached_photos.call_local()

    assert not ReturnPhoto.objects.exists()
    assert _files(media_root) == []

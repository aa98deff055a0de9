"""Return photos: the shopper's stored clean while the shopper fills in the return, attached
to its items when the return is created, and swept when they never were; the warehouse's
taken at the receiving station and attached to their item with the inspection."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from awda.core import clock
from awda.core.errors import InvalidInput
from awda.core.images import CleanImage, clean_image
from awda.merchants.models import Merchant
from awda.orders.models import Order
from awda.returns.models import PhotoSource, ReturnItem, ReturnPhoto

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
# The station's photos of one item (the shopper's are limited per order by the settings).
STATION_PHOTOS_PER_ITEM = 10


def clean_photo(data: bytes, *, field: str = "photos") -> CleanImage:
    """A photo checked by its content within the configured limits, re-encoded clean."""
    return clean_image(
        data,
        max_bytes=settings.AWDA_PHOTO_MAX_BYTES,
        max_pixels=settings.AWDA_PHOTO_MAX_PIXELS,
        field=field,
    )


def store_photo(*, merchant: Merchant, order: Order, data: bytes) -> ReturnPhoto:
    """Check a shopper's photo, store it re-encoded and record it against the order."""
    if order.merchant_id != merchant.pk:
        raise ValueError("the order belongs to another merchant")
    limit = settings.AWDA_PHOTO_MAX_PER_ORDER
    # Checked before the work, and again under the order's lock below.
    if _photo_count(order) >= limit:
        raise _too_many_photos(limit)
    clean = clean_photo(data)
    photo = ReturnPhoto(
        merchant=merchant,
        order=order,
        content_type=clean.content_type,
        size_bytes=len(clean.content),
        width=clean.width,
        height=clean.height,
        sha256=clean.sha256,
        created_at=clock.now(),
    )
    # The file is written before the transaction: with object storage that is an HTTP call,
    # which must not hold the order's lock. If the row is then refused, the file goes again.
    photo.file.save(f"photo.{clean.extension}", ContentFile(clean.content), save=False)
    try:
        with transaction.atomic():
            # One upload at a time per order, so parallel uploads can't pass the limit.
            Order.objects.select_for_update().filter(pk=order.pk).exists()
            if _photo_count(order) >= limit:
                raise _too_many_photos(limit)
            photo.save()
    except BaseException:
        photo.file.delete(save=False)
        raise
    return photo


def attach_photos(
    *, merchant: Merchant, item: ReturnItem, photo_ids: Sequence[int]
) -> list[ReturnPhoto]:
    """Attach photos uploaded for the item's order to the item; each photo only once."""
    ids = sorted(set(photo_ids))
    if not ids:
        return []
    if item.merchant_id != merchant.pk:
        raise ValueError("the return item belongs to another merchant")
    order_id = item.return_request.order_id
    now = clock.now()
    with transaction.atomic():
        # Locked in primary-key order, so two attachments sharing photos can't deadlock.
        photos = list(
            ReturnPhoto.objects.for_merchant(merchant)
            .select_for_update()
            .filter(pk__in=ids, order_id=order_id, return_item__isnull=True)
            .order_by("pk")
        )
        found = {p.pk for p in photos}
        if found != set(ids):
            # Another merchant's, another order's, already attached or unknown: the shopper
            # is told the same in each case, so nothing leaks about other stores' photos.
            raise InvalidInput(
                _(
                    "Some photos can't be used: they were not uploaded for this order, "
                    "or are already attached."
                ),
                field="photos",
                details={"photo_ids": [i for i in ids if i not in found]},
            )
        ReturnPhoto.objects.filter(pk__in=ids).update(return_item=item, attached_at=now)
    for photo in photos:
        photo.return_item, photo.attached_at = item, now
    return photos


def stage_station_photo(*, merchant: Merchant, actor: str, image: CleanImage) -> ReturnPhoto:
    """Write a warehouse photo's file and give back its row, not saved yet: the caller saves
    it with ``attach_station_photos`` in its transaction, or calls ``discard_files``."""
    photo = ReturnPhoto(
        merchant=merchant,
        source=PhotoSource.WAREHOUSE,
        uploaded_by=actor,
        content_type=image.content_type,
        size_bytes=len(image.content),
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        created_at=clock.now(),
    )
    # Before any transaction: with object storage the write is an HTTP call, which must not
    # hold the return's lock.
    photo.file.save(f"photo.{image.extension}", ContentFile(image.content), save=False)
    return photo


def attach_station_photos(
    *, item: ReturnItem, photos: Sequence[ReturnPhoto]
) -> tuple[list[ReturnPhoto], list[ReturnPhoto]]:
    """Save staged warehouse photos as the item's, in the caller's transaction (which holds
    the return's lock); (saved, repeats): a photo the item already has is not saved twice,
    so a repeated submit adds nothing, and the caller discards the repeats' files."""
    if not photos:
        return [], []
    if any(p.merchant_id != item.merchant_id for p in photos):
        raise ValueError("the photos belong to another merchant")
    with transaction.atomic():
        had = set(
            ReturnPhoto.objects.filter(return_item=item, source=PhotoSource.WAREHOUSE).values_list(
                "sha256", flat=True
            )
        )
        saved: list[ReturnPhoto] = []
        repeats: list[ReturnPhoto] = []
        for photo in photos:
            (repeats if photo.sha256 in had else saved).append(photo)
            had.add(photo.sha256)
        if len(had) > STATION_PHOTOS_PER_ITEM:
            raise InvalidInput(
                _("At most %(limit)s photos can be kept for one item.")
                % {"limit": STATION_PHOTOS_PER_ITEM},
                field="photos",
                details={"max_photos": STATION_PHOTOS_PER_ITEM},
            )
        now = clock.now()
        for photo in saved:
            photo.order_id = item.return_request.order_id
            photo.return_item = item
            photo.attached_at = now
            photo.save()
    return saved, repeats


def discard_files(photos: Sequence[ReturnPhoto]) -> None:
    """Delete the files of photos whose rows were never saved (or were rolled back)."""
    for photo in photos:
        try:
            photo.file.delete(save=False)
        except Exception:
            logger.exception("could not delete the photo file %s", photo.file.name)


def delete_unattached_photos(*, older_than: timedelta) -> int:
    """Delete photos never attached to a return item, rows and files; how many went."""
    cutoff = clock.now() - older_than
    deleted = 0
    while True:
        with transaction.atomic():
            # Locked so a photo being attached right now is either attached or deleted,
            # never attached to a deleted file.
            batch = list(
                ReturnPhoto.objects.select_for_update()
                .filter(attached_at__isnull=True, created_at__lt=cutoff)
                .order_by("created_at", "pk")
                .values_list("pk", "file")[:SWEEP_BATCH]
            )
            if not batch:
                return deleted
            ReturnPhoto.objects.filter(pk__in=[pk for pk, _name in batch]).delete()
        # Files go after the commit: a file left by a crash here is only wasted space,
        # whereas a row without its file would be a broken photo.
        storage = ReturnPhoto._meta.get_field("file").storage
        for _pk, name in batch:
            try:
                storage.delete(name)
            except Exception:
                logger.exception("could not delete the photo file %s", name)
        deleted += len(batch)


def _photo_count(order: Order) -> int:
    # The shopper's limit: the warehouse's photos of the same order don't use it up.
    return ReturnPhoto.objects.filter(order_id=order.pk, source=PhotoSource.SHOPPER).count()


def _too_many_photos(limit: int) -> InvalidInput:
    return InvalidInput(
        _("At most %(limit)s photos can be sent for one order.") % {"limit": limit},
        field="photos",
        details={"max_photos": limit},
    )

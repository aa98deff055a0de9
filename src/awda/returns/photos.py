"""Return photos: stored clean while the shopper fills in the return, attached to its items
when the return is created, and swept when they never were."""

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
from awda.core.images import clean_image
from awda.merchants.models import Merchant
from awda.orders.models import Order
from awda.returns.models import ReturnItem, ReturnPhoto

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


def store_photo(*, merchant: Merchant, order: Order, data: bytes) -> ReturnPhoto:
    """Check a shopper's photo, store it re-encoded and record it against the order."""
    if order.merchant_id != merchant.pk:
        raise ValueError("the order belongs to another merchant")
    limit = settings.AWDA_PHOTO_MAX_PER_ORDER
    # Checked before the work, and again under the order's lock below.
    if _photo_count(order) >= limit:
        raise _too_many_photos(limit)
    clean = clean_image(
        data,
        max_bytes=settings.AWDA_PHOTO_MAX_BYTES,
        max_pixels=settings.AWDA_PHOTO_MAX_PIXELS,
    )
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
    return ReturnPhoto.objects.filter(order_id=order.pk).count()


def _too_many_photos(limit: int) -> InvalidInput:
    return InvalidInput(
        _("At most %(limit)s photos can be sent for one order.") % {"limit": limit},
        field="photos",
        details={"max_photos": limit},
    )

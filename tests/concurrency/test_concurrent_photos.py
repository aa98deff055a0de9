"""Parallel photo uploads for one order never pass the per-order limit (PostgreSQL)."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from PIL import Image

from awda.returns.models import ReturnPhoto
from awda.returns.photos import store_photo
from tests import factories
from tests.concurrency.test_concurrent_returns import _race

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_parallel_uploads_for_one_order_store_no_more_than_the_limit(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.AWDA_PHOTO_MAX_PER_ORDER = 3
    merchant = factories.merchant()
    order = factories.order(merchant)
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "JPEG")

    def attempt(_i: int) -> str:
        store_photo(merchant=merchant, order=order, data=buffer.getvalue())
        return "stored"

    outcomes = Counter(_race(12, attempt))

    assert outcomes == {"stored": 3, "invalid_input": 9}
    assert ReturnPhoto.objects.filter(order=order).count() == 3
    # The refused uploads took their files away again.
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 3

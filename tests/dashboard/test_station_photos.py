"""Photos at the receiving station: sent with the inspection's one POST, checked by their
content before anything is recorded, stored as the warehouse's, shown on the station's
pages and served only to that store's staff; the item's note is kept whatever the decision."""

from __future__ import annotations

import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from awda.catalog.models import StockMove
from awda.merchants.models import StaffRole
from awda.returns.models import PhotoSource, ReturnPhoto, ReturnStatus
from awda.returns.photos import clean_photo
from awda.warehouse import services
from tests.dashboard import helpers as d
from tests.warehouse import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def arabic(msgid: str, **values: object) -> str:
    with translation.override("ar"):
        text = translation.gettext(msgid)
    assert text != msgid, f"not translated: {msgid!r}"
    return text % values if values else text


def image(
    fmt: str = "JPEG", size: tuple[int, int] = (60, 40), name: str = ""
) -> SimpleUploadedFile:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    buffer = io.BytesIO()
    extra = {"exif": exif} if fmt == "JPEG" else {}
    Image.new("RGB", size, (30, 120, 200)).save(buffer, fmt, **extra)
    filename = name or f"IMG_0001.{fmt.lower()}"
    return SimpleUploadedFile(filename, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def photo_url(m, number: str, photo_id: int) -> str:
    return f"/en/staff/{m.slug}/returns/{number}/photos/{photo_id}/"


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png")], ids=["jpeg", "png"]
)
def test_photos_sent_with_the_one_post_are_the_warehouses_and_are_shown_and_served(
    fmt, content_type, media_root
):
    m = h.merchant("inspected")
    ret = h.a_return(m, sku="TEE-M")
    user = d.staff(m)
    client = d.signed_in(user)

    answer = client.post(
        d.return_url(m, ret.number),
        d.prefilled(**{"photos-1": [image(fmt), image(fmt, size=(50, 50))]}),  # type: ignore[arg-type]
    )
    result = client.get(answer["Location"]).content.decode()

    assert answer.status_code == 302
    item = h.item(ret)
    assert (item.decision, item.disposition) == ("accepted", "restock")
    photos = list(ReturnPhoto.objects.filter(return_item=item).order_by("pk"))
    assert len(photos) == 2
    for photo in photos:
        assert (photo.source, photo.uploaded_by) == (PhotoSource.WAREHOUSE, f"staff:{user.pk}")
        assert (photo.merchant_id, photo.order_id) == (m.pk, ret.order_id)
        assert photo.attached_at is not None and photo.content_type == content_type
        assert photo.file.name.startswith(f"returns/photos/{m.pk}/")
        assert "IMG_0001" not in photo.file.name
    url = photo_url(m, ret.number, photos[0].pk)
    assert f'src="{url}"' in result  # the scan page's "what happened" panel
    assert f'src="{url}"' in client.get(d.return_url(m, ret.number)).content.decode()
    served = client.get(url)
    assert served.status_code == 200 and served["Content-Type"] == content_type
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "private" in served["Cache-Control"]
    body = Image.open(io.BytesIO(served.content))
    assert body.format == fmt and body.size == (60, 40)
    assert not body.getexif()  # re-encoded: the camera's metadata stayed behind


def test_a_photo_is_served_to_the_stores_agent_and_owner_but_not_to_another_store():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    d.signed_in(d.staff(m)).post(
        d.return_url(m, ret.number),
        d.prefilled(**{"photos-1": image()}),  # type: ignore[arg-type]
    )
    photo = ReturnPhoto.objects.get()
    other = h.merchant()
    other_ret = h.a_return(other, sku="TEE-M")
    stranger = d.signed_in(d.staff(other, StaffRole.OWNER))
    url = photo_url(m, ret.number, photo.pk)

    assert d.signed_in(d.staff(m, StaffRole.AGENT)).get(url).status_code == 200
    assert d.signed_in(d.staff(m, StaffRole.OWNER)).get(url).status_code == 200
    assert d.signed_in(d.staff(m, StaffRole.ANALYST)).get(url).status_code == 200
    # Another store's staff: not a member here, and their own store has no such photo.
    assert stranger.get(url).status_code == 404
    assert stranger.get(photo_url(other, other_ret.number, photo.pk)).status_code == 404
    assert stranger.get(photo_url(other, ret.number, photo.pk)).status_code == 404
    # The right store but another return's number.
    assert d.signed_in(d.staff(m)).get(photo_url(m, "R-NOPE", photo.pk)).status_code == 404


def test_a_text_file_named_jpg_is_refused_in_arabic_and_nothing_is_saved(media_root):
    m = h.merchant("inspected")
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))
    fake = SimpleUploadedFile("parcel.jpg", b"not a photo at all\n", content_type="image/jpeg")

    answer = client.post(
        d.return_url(m, ret.number, "ar"),
        d.prefilled(**{"photos-1": [image(), fake]}),  # type: ignore[arg-type]
    )

    page = answer.content.decode()
    message = arabic("The file is not a JPEG, PNG, WebP or HEIC photo.")
    assert answer.status_code == 422
    assert f'<p class="error" id="photos-1-error">{message}</p>' in page
    assert 'aria-invalid="true" aria-describedby="photos-1-error"' in page
    assert h.item(ret).reception == "awaiting"  # nor the inspection
    assert ret.__class__.objects.get(pk=ret.pk).status == ReturnStatus.APPROVED
    assert not ReturnPhoto.objects.exists() and not StockMove.objects.exists()
    assert files(media_root) == []


def test_an_oversized_photo_is_refused_and_nothing_is_saved(settings, media_root):
    settings.AWDA_PHOTO_MAX_BYTES = 2000
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))
    noise = Image.frombytes("RGB", (100, 100), random.Random(6).randbytes(100 * 100 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")  # noise doesn't compress: well over the limit
    big = SimpleUploadedFile("big.png", buffer.getvalue(), content_type="image/png")
    assert big.size > 2000

    answer = client.post(
        d.return_url(m, ret.number),
        d.prefilled(**{"photos-1": big}),  # type: ignore[arg-type]
    )

    assert answer.status_code == 422
    assert 'id="photos-1-error">The photo is larger than' in answer.content.decode()
    assert h.item(ret).reception == "awaiting"
    assert not ReturnPhoto.objects.exists() and files(media_root) == []


def test_when_another_field_is_wrong_the_photos_are_not_kept_and_the_page_says_so(media_root):
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))

    answer = client.post(
        d.return_url(m, ret.number),
        d.prefilled(**{"qty-1": "-1", "photos-1": image()}),  # type: ignore[arg-type]
    )

    assert answer.status_code == 422
    assert 'id="photos-1-again"' in answer.content.decode()
    assert not ReturnPhoto.objects.exists() and files(media_root) == []


def test_photos_of_an_item_not_in_this_parcel_are_refused():
    m = h.merchant()
    ret = h.a_return(m, ("1", "2"), sku="TEE-M")
    client = d.signed_in(d.staff(m))

    answer = client.post(
        d.return_url(m, ret.number),
        d.prefilled(
            2,
            **{
                "reception-2": "awaiting",
                "decision-2": "",
                "disposition-2": "",
                "photos-2": image(),  # type: ignore[dict-item]
            },
        ),
    )

    assert answer.status_code == 422
    assert 'id="photos-2-error"' in answer.content.decode()
    assert not ReturnPhoto.objects.exists()


def test_the_same_photo_sent_twice_is_kept_once(media_root):
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    data = image().read()
    check = services.ItemCheck(
        line_ref="1", condition="new", decision="accepted", photos=(clean_photo(data),)
    )
    for _ in range(2):
        services.receive_and_inspect(
            merchant=m, code_or_number=ret.number, actor="staff:1", items=[check]
        )

    assert ReturnPhoto.objects.count() == 1 and len(files(media_root)) == 1


def test_the_items_note_is_kept_when_accepted_and_shown_after_the_submit():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))

    answer = client.post(
        d.return_url(m, ret.number), d.prefilled(**{"note-1": "Box dented, item fine"})
    )
    result = client.get(answer["Location"]).content.decode()

    assert h.item(ret).decision_note == "Box dented, item fine"
    assert "Box dented, item fine" in result
    assert "Box dented, item fine" in client.get(d.return_url(m, ret.number)).content.decode()


def test_a_note_without_a_decision_is_not_dropped_silently():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m))

    answer = client.post(
        d.return_url(m, ret.number),
        d.prefilled(**{"decision-1": "", "disposition-1": "", "note-1": "Smells of smoke"}),
    )

    assert answer.status_code == 422 and 'id="note-1-error"' in answer.content.decode()
    assert h.item(ret).reception == "awaiting"

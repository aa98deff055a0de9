"""Uploaded photos are judged by their bytes and stored without any metadata.

Every image here is made in memory with Pillow (or pillow_heif), so the tests exercise the
same decoders a shopper's upload goes through.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib

import pillow_heif
import pytest
from django.utils import translation
from PIL import Image, ImageCms, PngImagePlugin

from awda.core.errors import InvalidInput
from awda.core.images import clean_image

MB = 1024 * 1024
LIMITS = {"max_bytes": 10 * MB, "max_pixels": 40_000_000}
RED, BLUE = (220, 20, 20), (20, 20, 220)
ORIENTATION, MAKE, GPS_IFD = 0x0112, 0x010F, 0x8825


def _two_halves(size=(60, 40), mode="RGB"):
    """Left half red, right half blue: shows where the pixels went after a rotation."""
    im = Image.new(mode, size, RED)
    im.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return im


def _encode(im, fmt, **params):
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def _exif_with_gps(orientation=1):
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "SecretCam"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (24.0, 42.0, 13.5), 3: "E", 4: (46.0, 40.0, 7.25)})
    return exif


def _srgb_icc():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _open(clean):
    return Image.open(io.BytesIO(clean.content))


def _close(a, b, tolerance=40):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def _png_header_only(width, height):
    """A few dozen bytes whose header claims ``width`` × ``height`` pixels."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def _rejected(data, *, message, field="photos", **limits):
    with pytest.raises(InvalidInput) as caught:
        clean_image(data, **{**LIMITS, **limits}, field=field)
    assert caught.value.field == field
    assert str(caught.value.message) == message
    return caught.value


# -- accepted, and cleaned ------------------------------------------------------------------


def test_a_phone_jpeg_is_turned_upright_and_loses_its_exif_gps_xmp_and_profile():
    source = _encode(
        _two_halves(),
        "JPEG",
        exif=_exif_with_gps(orientation=6),
        xmp=b"<x:xmpmeta>SecretXmp</x:xmpmeta>",
        icc_profile=_srgb_icc(),
    )
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(GPS_IFD)  # the GPS is really there

    clean = clean_image(source, **LIMITS)

    assert (clean.content_type, clean.extension) == ("image/jpeg", "jpg")
    # Orientation 6 means "turn 90° clockwise to view": the left (red) half ends on top.
    assert (clean.width, clean.height) == (40, 60)
    with _open(clean) as out:
        assert out.format == "JPEG"
        assert out.size == (40, 60)
        assert _close(out.convert("RGB").getpixel((20, 5)), RED)
        assert _close(out.convert("RGB").getpixel((20, 55)), BLUE)
        assert not out.getexif()
        assert not {"exif", "xmp", "icc_profile"} & set(out.info)
    for secret in (b"Exif", b"SecretCam", b"SecretXmp", b"xmpmeta"):
        assert secret not in clean.content


def test_a_png_loses_its_text_chunks_and_stays_a_png():
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at SecretHome")
    text.add_itxt("Author", "SecretAuthor", lang="en")
    source = _encode(_two_halves(), "PNG", pnginfo=text, exif=_exif_with_gps())

    clean = clean_image(source, **LIMITS)

    assert (clean.content_type, clean.extension) == ("image/png", "png")
    with _open(clean) as out:
        assert out.format == "PNG"
        assert out.text == {}
        assert not out.getexif()
    assert b"SecretHome" not in clean.content
    assert b"SecretAuthor" not in clean.content
    assert b"SecretCam" not in clean.content


def test_a_broken_colour_profile_is_dropped_rather_than_copied():
    source = _encode(_two_halves(), "PNG", icc_profile=b"SecretProfile, not an ICC one")

    clean = clean_image(source, **LIMITS)

    with _open(clean) as out:
        assert "icc_profile" not in out.info
    assert b"iCCP" not in clean.content


def test_a_webp_stays_a_webp_without_its_exif():
    source = _encode(_two_halves(), "WEBP", exif=_exif_with_gps(), quality=90)

    clean = clean_image(source, **LIMITS)

    assert (clean.content_type, clean.extension) == ("image/webp", "webp")
    with _open(clean) as out:
        assert out.format == "WEBP"
        assert out.size == (60, 40)
        assert not out.getexif()
    assert b"SecretCam" not in clean.content


def test_an_iphone_heic_becomes_a_jpeg_browsers_can_show():
    pillow_heif.register_heif_opener()
    source = _encode(_two_halves(), "HEIF", exif=_exif_with_gps().tobytes())

    clean = clean_image(source, **LIMITS)

    assert (clean.content_type, clean.extension) == ("image/jpeg", "jpg")
    with _open(clean) as out:
        assert out.format == "JPEG"
        assert out.size == (60, 40)
        assert _close(out.convert("RGB").getpixel((5, 20)), RED)
        assert not out.getexif()
    assert b"SecretCam" not in clean.content


def test_a_png_declared_as_a_jpeg_is_judged_by_its_bytes():
    # The portal may receive "photo.jpg" with Content-Type image/jpeg; neither is looked at.
    clean = clean_image(_encode(_two_halves(), "PNG"), **LIMITS)
    assert clean.content_type == "image/png"


def test_a_jpeg_carrying_a_second_picture_is_kept_as_its_first():
    # Android "Ultra HDR" photos append a gain map as a second picture (Pillow reads them as
    # MPO): they are still photos, not animations.
    second = Image.new("RGB", (30, 20), (0, 200, 0))
    source = _encode(_two_halves(), "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(source)).format == "MPO"

    clean = clean_image(source, **LIMITS)

    assert clean.content_type == "image/jpeg"
    assert (clean.width, clean.height) == (60, 40)


def test_a_cmyk_jpeg_is_stored_as_rgb():
    clean = clean_image(_encode(_two_halves(mode="CMYK"), "JPEG"), **LIMITS)
    with _open(clean) as out:
        assert out.mode == "RGB"


def test_a_transparent_palette_png_keeps_its_transparency():
    im = _two_halves().convert("P")
    im.info["transparency"] = 0
    clean = clean_image(_encode(im, "PNG", transparency=0), **LIMITS)
    with _open(clean) as out:
        assert out.mode == "RGBA"


def test_a_transparent_heic_is_laid_on_white_in_its_jpeg():
    im = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    clean = clean_image(_encode(im, "HEIF"), **LIMITS)
    with _open(clean) as out:
        assert out.mode == "RGB"
        assert _close(out.getpixel((16, 16)), (255, 255, 255), tolerance=8)


def test_a_16_bit_greyscale_png_is_scaled_to_8_bits_not_clipped_to_white():
    im = Image.new("I;16", (8, 8), 30000)
    clean = clean_image(_encode(im, "PNG"), **LIMITS)
    with _open(clean) as out:
        assert out.mode == "L"
        assert 100 < out.getpixel((0, 0)) < 135


def test_the_checksum_is_of_the_stored_bytes():
    clean = clean_image(_encode(_two_halves(), "JPEG"), **LIMITS)
    assert clean.sha256 == hashlib.sha256(clean.content).hexdigest()


# -- rejected -------------------------------------------------------------------------------

NOT_A_PHOTO = "The file is not a JPEG, PNG, WebP or HEIC photo."
UNREADABLE = "The photo could not be read: the file is damaged or incomplete."
ANIMATED = "Animated images are not accepted: please send a still photo."


def test_an_empty_file_is_refused():
    _rejected(b"", message="The file is empty.")


def test_a_file_over_the_byte_limit_is_refused_before_it_is_opened():
    error = _rejected(b"\0" * (MB + 1), message="The photo is larger than 1 MB.", max_bytes=MB)
    assert error.details == {"max_bytes": MB}


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "PDF", "ICO"])
def test_formats_other_than_jpeg_png_webp_and_heic_are_refused(fmt):
    _rejected(_encode(_two_halves(), fmt), message=NOT_A_PHOTO)


def test_an_svg_is_refused():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    _rejected(svg, message=NOT_A_PHOTO)


def test_random_bytes_are_refused():
    _rejected(os.urandom(4096), message=NOT_A_PHOTO)


def test_a_truncated_jpeg_is_refused():
    noise = Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3))
    whole = _encode(noise, "JPEG", quality=95)
    _rejected(whole[: len(whole) // 2], message=UNREADABLE)


def test_a_png_with_a_corrupted_chunk_is_refused():
    data = bytearray(_encode(_two_halves(), "PNG"))
    data[-20] ^= 0xFF  # inside the last IDAT chunk: its CRC no longer matches
    _rejected(bytes(data), message=UNREADABLE)


def test_a_tiny_png_claiming_fifty_thousand_pixels_square_is_refused_as_a_bomb():
    bomb = _png_header_only(50_000, 50_000)
    assert len(bomb) < 100
    error = _rejected(bomb, message="The photo has too many pixels: at most 40 megapixels.")
    assert error.details == {"max_pixels": 40_000_000}


def test_the_pixel_limit_is_checked_from_the_header_before_decoding():
    # The header claims 9 Mpx but no pixel data follows: decoding would fail as "damaged",
    # so being told "too many pixels" proves nothing was decoded.
    _rejected(
        _png_header_only(3000, 3000),
        message="The photo has too many pixels: at most 1 megapixels.",
        max_pixels=1_000_000,
    )


def test_an_animated_gif_is_refused():
    frames = [_two_halves(), _two_halves().rotate(180)]
    gif = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    _rejected(gif, message=NOT_A_PHOTO)


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_an_animated_webp_or_png_is_refused(fmt):
    frames = [_two_halves(), _two_halves().rotate(180)]
    data = _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    _rejected(data, message=ANIMATED)


def test_the_error_names_the_field_the_caller_asks_for():
    _rejected(b"", message="The file is empty.", field="evidence")


def test_the_reason_is_given_in_arabic_to_arabic_readers():
    with translation.override("ar"), pytest.raises(InvalidInput) as caught:
        clean_image(b"\0" * (MB + 1), max_bytes=MB, max_pixels=1000)
    assert str(caught.value.message) == "حجم الصورة أكبر من 1 ميغابايت."

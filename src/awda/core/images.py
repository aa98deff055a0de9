"""Uploaded photos, judged by their content and re-encoded so no metadata survives.

A shopper's photo is untrusted bytes: its name and declared type say nothing. Pillow decides
what it is, only the four formats phones produce are opened at all (so no other decoder ever
parses shopper bytes), the pixel count is checked from the header before any pixel is
decoded, and the pixels are written again into a fresh file: EXIF (GPS, camera serial), XMP,
text chunks and colour profiles stay behind.
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass

import pillow_heif
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageCms, ImageOps

from awda.core.errors import InvalidInput

# Registering twice is harmless, but once at import is enough for every caller.
pillow_heif.register_heif_opener()

# Pillow's format name -> (what it is stored as, content type, extension). Browsers can't
# show HEIC, so iPhone photos become JPEGs. MPO is how Pillow reads a JPEG carrying a second
# picture (the gain map of "Ultra HDR" Android photos): the first picture is the photo.
_OUTPUT: dict[str, tuple[str, str, str]] = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "MPO": ("JPEG", "image/jpeg", "jpg"),
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
    "HEIF": ("JPEG", "image/jpeg", "jpg"),
}
_OPENED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
EXTENSION_BY_CONTENT_TYPE = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

JPEG_QUALITY = 85
WEBP_QUALITY = 85

# What a damaged or hostile file makes Pillow and libheif raise while decoding.
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    TypeError,
    RuntimeError,
    struct.error,
    Image.DecompressionBombError,
    # A warning only when raised as an error (e.g. under `-W error`); otherwise Pillow just
    # warns and our own pixel limit, which is lower than Pillow's, rejects the file.
    Image.DecompressionBombWarning,
)

_MB = 1024 * 1024


@dataclass(frozen=True)
class CleanImage:
    """A photo re-encoded from its pixels alone, ready to store."""

    content: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str  # of ``content``, the bytes that are stored


def clean_image(
    data: bytes, *, max_bytes: int, max_pixels: int, field: str = "photos"
) -> CleanImage:
    """Check an uploaded photo by its content and re-encode it without metadata."""

    def reject(message: str | Promise, **details: object) -> InvalidInput:
        return InvalidInput(message, field=field, details=details or None)

    if not data:
        raise reject(_("The file is empty."))
    if len(data) > max_bytes:
        raise reject(
            _("The photo is larger than %(limit)s MB.") % {"limit": f"{max_bytes / _MB:g}"},
            max_bytes=max_bytes,
        )
    try:
        probe = Image.open(io.BytesIO(data), formats=_OPENED_FORMATS)
    except Image.UnidentifiedImageError:
        raise reject(_("The file is not a JPEG, PNG, WebP or HEIC photo.")) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels, field) from None
    except _DECODE_ERRORS:
        raise _unreadable(field) from None

    with probe:
        fmt = probe.format or ""
        if fmt not in _OUTPUT:
            raise reject(_("The file is not a JPEG, PNG, WebP or HEIC photo."))
        # From the header alone: nothing has been decoded yet.
        if probe.width * probe.height > max_pixels:
            raise _too_many_pixels(max_pixels, field)
        if fmt != "MPO" and getattr(probe, "n_frames", 1) > 1:
            raise reject(_("Animated images are not accepted: please send a still photo."))
        try:
            probe.verify()
        except _DECODE_ERRORS:
            raise _unreadable(field) from None

    # verify() leaves the image unusable, so decode from a fresh open.
    try:
        with Image.open(io.BytesIO(data), formats=_OPENED_FORMATS) as source:
            source.load()
            pixels = _upright_srgb(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels, field) from None
    except _DECODE_ERRORS:
        raise _unreadable(field) from None

    out_format, content_type, extension = _OUTPUT[fmt]
    pixels = _to_output_mode(pixels, out_format)
    # A bare info dict: encoders (PNG's ICC chunk, for one) fall back to it otherwise.
    pixels.info = {}
    buffer = io.BytesIO()
    if out_format == "JPEG":
        pixels.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif out_format == "WEBP":
        pixels.save(buffer, "WEBP", quality=WEBP_QUALITY)
    else:
        pixels.save(buffer, "PNG")
    content = buffer.getvalue()
    return CleanImage(
        content=content,
        content_type=content_type,
        extension=extension,
        width=pixels.width,
        height=pixels.height,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _too_many_pixels(max_pixels: int, field: str) -> InvalidInput:
    return InvalidInput(
        _("The photo has too many pixels: at most %(limit)s megapixels.")
        % {"limit": f"{max_pixels / 1_000_000:g}"},
        field=field,
        details={"max_pixels": max_pixels},
    )


def _unreadable(field: str) -> InvalidInput:
    return InvalidInput(
        _("The photo could not be read: the file is damaged or incomplete."), field=field
    )


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
        im.mode == "P" and "transparency" in im.info
    )


def _upright_srgb(source: Image.Image) -> Image.Image:
    """The pixels as the camera meant them: rotated per EXIF, colours in sRGB."""
    im = ImageOps.exif_transpose(source)
    icc = source.info.get("icc_profile")
    if _has_alpha(im):
        im = im.convert("RGBA")
    elif im.mode in {"I", "I;16", "I;16B", "I;16L"}:
        # 16-bit greyscale PNG: scale to 8 bits (a plain convert would clip it to white).
        im = im.convert("I").point(lambda v: v / 256).convert("L")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode not in {"RGB", "L", "CMYK"}:
        im = im.convert("RGB")
    if icc and im.mode in {"RGB", "RGBA", "CMYK"}:
        # Dropping a profile (Display P3 on iPhones, CMYK print profiles) without converting
        # would shift the colours; converting to sRGB keeps them and needs no profile.
        try:
            converted = ImageCms.profileToProfile(
                im,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGBA" if im.mode == "RGBA" else "RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # a broken profile: keep the pixels as they are
        if converted is not None:
            im = converted
    if im.mode == "CMYK":
        im = im.convert("RGB")
    return im


def _to_output_mode(im: Image.Image, out_format: str) -> Image.Image:
    if out_format == "JPEG":
        if im.mode == "RGBA":
            # JPEG has no transparency: lay the photo on white, as a browser would show it.
            background = Image.new("RGB", im.size, (255, 255, 255))
            background.paste(im, mask=im.getchannel("A"))
            return background
        return im if im.mode in {"RGB", "L"} else im.convert("RGB")
    if out_format == "WEBP":
        return im if im.mode in {"RGB", "RGBA"} else im.convert("RGB")
    return im if im.mode in {"RGB", "RGBA", "L"} else im.convert("RGB")

"""Return-label rendering speed: PDF labels per second on one core.

``python bench/labels.py [--n 500] [--size 4x6|a4] [--profile]``

Renders distinct labels in one process, as a worker does: a handful of merchants (each with
its logo and return address) and a different shopper, tracking number and QR payload on
every label, Arabic and Latin addresses mixed. Prints:

- cold: importing the labels module (fpdf2, HarfBuzz, segno…), and the first label of the
  process, font loading included;
- warm: after a warm-up, three runs of ``--n`` labels each (none seen before), the median
  labels/s and ms/label, with the process CPU time per label next to it (CPU time doesn't
  move when other processes share the machine).

No database and no Django settings: a label is a pure function of its data.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import pstats
import random
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Literal

from PIL import Image, ImageDraw

from awda.shipping.carriers.base import Address

_import_start = time.perf_counter()
from awda.shipping.labels import LabelData, render_pdf  # noqa: E402 - timed

IMPORT_SECONDS = time.perf_counter() - _import_start

ARABIC_NAMES = ["نورة العتيبي", "محمد الشمري", "سارة القحطاني", "عبدالله الدوسري", "ريم الحربي"]
LATIN_NAMES = ["Sara Haddad", "Omar Farouk", "Lina Aziz", "James O'Neill", "Priya Nair"]
ARABIC_STREETS = [
    "شارع الأمير سلطان",
    "طريق الملك فهد",
    "شارع التحلية",
    "طريق الأمير محمد بن عبدالعزيز",
]
LATIN_STREETS = ["Sheikh Zayed Road", "Al Wasl Road", "Jumeirah Beach Road", "King Abdulaziz Road"]
ARABIC_PLACES = [("حي العليا", "الرياض"), ("حي الروضة", "جدة"), ("حي الشاطئ", "الدمام")]
LATIN_PLACES = [("Al Barsha", "Dubai"), ("Al Khalidiya", "Abu Dhabi"), ("Salmiya", "Hawally")]


def logo(seed: int) -> bytes:
    image = Image.new("RGB", (360, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((6, 6, 354, 114), outline="black", width=8)
    draw.ellipse((20, 20, 100, 100), fill=(seed * 40 % 255, 60, 140))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


MERCHANTS = [
    (
        "Acme Store",
        "متجر أكمي",
        Address(
            name="Returns Dept",
            company="Acme Trading Co",
            line1="King Fahd Road, Building 7",
            line2="Warehouse 3, Gate B",
            city="Jeddah",
            region="Makkah",
            postcode="23442",
            country="SA",
            phone="+966 12 000 0000",
        ),
    ),
    (
        "Bayt Al Oud",
        "بيت العود",
        Address(
            name="مستودع المرتجعات",
            line1="طريق الملك عبدالعزيز 4410",
            district="حي الملقا",
            city="الرياض",
            postcode="13524",
            country="SA",
            phone="+966 11 555 0101",
        ),
    ),
    (
        "Dune & Co",
        "",
        Address(
            name="Dune & Co Returns",
            line1="Warehouse 12, Al Quoz Industrial 3",
            city="Dubai",
            country="AE",
            phone="+971 4 000 1234",
        ),
    ),
]


def phone(rng: random.Random, country_code: str) -> str:
    return f"+{country_code} 5{rng.randint(0, 9)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def labels(count: int, rng: random.Random, offset: int) -> Iterator[LabelData]:
    logos = [logo(i) for i in range(len(MERCHANTS))]
    for n in range(offset, offset + count):
        merchant = n % len(MERCHANTS)
        name, name_ar, address = MERCHANTS[merchant]
        if n % 2:
            district, city = rng.choice(ARABIC_PLACES)
            shopper = Address(
                name=rng.choice(ARABIC_NAMES),
                line1=f"{rng.choice(ARABIC_STREETS)} {rng.randint(1, 9999)}",
                district=district,
                city=city,
                postcode=f"{rng.randint(10000, 99999)}",
                country="SA",
                phone=phone(rng, "966"),
            )
        else:
            district, city = rng.choice(LATIN_PLACES)
            shopper = Address(
                name=rng.choice(LATIN_NAMES),
                line1=f"Villa {rng.randint(1, 400)}, {rng.choice(LATIN_STREETS)}",
                district=district,
                city=city,
                country="AE",
                phone=phone(rng, "971"),
            )
        tracking = f"1Z{rng.randrange(16**6):06X}{rng.randrange(10**10):010d}"
        yield LabelData(
            return_number=f"RMA-{100000 + n}",
            tracking_number=tracking,
            carrier_name="Sandbox Express",
            qr_payload=f"https://awda.example/r/RMA-{100000 + n}?t={tracking}",
            method=("label", "qr", "pickup")[n % 3],
            shopper=shopper,
            merchant=address,
            merchant_name=name,
            merchant_name_ar=name_ar,
            logo=logos[merchant],
            items=1 + n % 4,
            created_on=datetime.date(2025, 3, 1) + datetime.timedelta(days=n % 28),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="labels per measured run")
    parser.add_argument("--size", choices=("4x6", "a4"), default="4x6")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one run")
    args = parser.parse_args()
    size: Literal["4x6", "a4"] = args.size
    rng = random.Random(20250314)
    batches = [list(labels(args.n, rng, offset=(i + 1) * args.n)) for i in range(3)]
    warm_up = list(labels(50, rng, offset=0))

    start = time.perf_counter()
    render_pdf(warm_up[0], size=size)
    cold = time.perf_counter() - start
    for data in warm_up[1:]:
        render_pdf(data, size=size)

    walls, cpus = [], []
    for batch in batches:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for data in batch:
            render_pdf(data, size=size)
        walls.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)

    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(
        f"labels: {size}, {args.n} distinct labels per run, 3 runs, Python {sys.version.split()[0]}"
    )
    print(
        f"cold: import {IMPORT_SECONDS * 1000:.0f} ms,"
        f" first label (fonts loaded) {cold * 1000:.1f} ms"
    )
    print(
        f"warm: {args.n / wall:.1f} labels/s, {wall / args.n * 1000:.2f} ms/label"
        f" (median of {', '.join(f'{args.n / w:.1f}' for w in walls)} labels/s;"
        f" CPU {cpu / args.n * 1000:.2f} ms/label)"
    )
    if args.profile:
        fresh = list(labels(args.n, rng, offset=10 * args.n))
        profiler = cProfile.Profile()
        profiler.enable()
        for data in fresh:
            render_pdf(data, size=size)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()

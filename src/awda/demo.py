"""A realistic bilingual demo store: catalog, customers, 90 days of orders and their returns.

``seed_demo`` builds the store "demo" once; calling it again returns what is there (and a
fresh API key, since key plaintexts are never stored). Everything is drawn from one
``random.Random(seed)``, so a seed gives the same store relative to the day it is seeded.

The data goes through the same services a real store's data does (``upsert_product``,
``upsert_order``, ``request_return``…), with the clock pinned to each moment in the past,
so returns get true timelines and the policy engine judges them as it would have then.
"""

from __future__ import annotations

import io
import random
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw
from tqdm import tqdm

from awda.analytics.services import refresh_rollups
from awda.catalog.models import Product, Variant
from awda.catalog.services import ProductData, VariantData, set_stock_levels, upsert_product
from awda.core import clock
from awda.core.errors import DomainError
from awda.merchants.models import Merchant, StaffRole
from awda.merchants.services import add_staff, create_merchant, issue_api_key, set_label_logo
from awda.orders.models import Customer, Order, PaymentMethod
from awda.orders.services import CustomerData, LineData, OrderData, PaymentData, upsert_order
from awda.payments.models import GatewayAccount
from awda.payments.services import connect_gateway
from awda.policies.document import default_policy
from awda.policies.selectors import active_policy
from awda.policies.services import replace_policy
from awda.returns.models import Resolution, Return, ReturnMethod, ReturnStatus
from awda.returns.services import (
    ItemRequest,
    approve_return,
    cancel_return,
    install_default_reasons,
    record_receipt,
    reject_return,
    request_return,
)
from awda.shipping.carriers.base import TrackingStatus
from awda.shipping.geo import city_centre
from awda.shipping.services import (
    DropOffPointData,
    advance_sandbox_parcel,
    connect_carrier,
    issue_return_shipment,
    save_drop_off_points,
)

T = TypeVar("T")

DEMO_SLUG = "demo"
DEMO_USERNAME = "owner"
# The receiving station's person (role warehouse), with the same published password.
WAREHOUSE_USERNAME = "warehouse"
# A fixed, published password: the demo store is for trying Awda out, and docs and
# screenshots can name it. Never seed the demo on an instance open to the internet.
DEMO_PASSWORD = "awda-demo-2026"  # noqa: S105
VAT_RATE = Decimal(15)
HISTORY_DAYS = 90
RETURN_RATE = 0.08


@dataclass(frozen=True)
class DemoInfo:
    """What a person needs to try the demo store."""

    merchant_slug: str
    example_order_number: str
    example_order_email: str
    example_order_phone: str
    staff_username: str
    staff_password: str  # empty when the user existed before with another password
    api_key: str
    products: int
    variants: int
    customers: int
    orders: int
    returns: int
    returns_by_status: dict[str, int] = field(default_factory=dict)
    created: bool = False  # False when the store already existed
    warehouse_username: str = WAREHOUSE_USERNAME  # signs in with ``staff_password`` too
    seconds: float = 0.0


# -- catalog ----------------------------------------------------------------------------------

CATEGORIES: dict[str, tuple[str, str]] = {
    "abayas": ("Abayas", "عبايات"),
    "thobes": ("Thobes", "أثواب"),
    "shemaghs": ("Shemaghs & ghutras", "أشمغة وغتر"),
    "shirts": ("Shirts & T-shirts", "قمصان وتيشيرتات"),
    "dresses": ("Dresses", "فساتين"),
    "shoes": ("Shoes", "أحذية"),
    "sportswear": ("Sportswear", "ملابس رياضية"),
    # Non-returnable in the default policy (its rule matches this code).
    "underwear": ("Underwear", "ملابس داخلية"),
    "electronics": ("Electronics", "إلكترونيات"),
    "mobile-accessories": ("Mobile accessories", "إكسسوارات الجوال"),
}
ELECTRONIC_CATEGORIES = frozenset({"electronics", "mobile-accessories"})

SUPPLIERS: dict[str, str] = {
    "riyadh-modest-wear": "Riyadh Modest Wear Co.",
    "jeddah-tailoring": "Jeddah Tailoring House",
    "al-haramain-textiles": "Al Haramain Textiles",
    "anatolia-cotton": "Anatolia Cotton Mills",
    "gulf-footwear": "Gulf Footwear Trading",
    "dubai-active": "Dubai Active Apparel",
    "shenzhen-soundtech": "Shenzhen SoundTech Ltd.",
    "guangzhou-mobile": "Guangzhou Mobile Accessories",
}

COLOURS: dict[str, tuple[str, str]] = {
    "BLK": ("Black", "أسود"),
    "WHT": ("White", "أبيض"),
    "NVY": ("Navy", "كحلي"),
    "BEI": ("Beige", "بيج"),
    "GRY": ("Grey", "رمادي"),
    "RED": ("Red", "أحمر"),
    "OLV": ("Olive", "زيتي"),
    "PNK": ("Pink", "وردي"),
    "BRN": ("Brown", "بني"),
    "BLU": ("Blue", "أزرق"),
    "GRN": ("Green", "أخضر"),
    "GLD": ("Gold", "ذهبي"),
    "SLV": ("Silver", "فضي"),
    "MRN": ("Maroon", "عنابي"),
}

# Abayas and thobes are sized by length in inches, as Saudi shops sell them.
LENGTHS = ("52", "54", "56", "58", "60")
APPAREL = ("S", "M", "L", "XL")
KIDS = ("4Y", "6Y", "8Y", "10Y", "12Y")
MEN_SHOES = ("40", "41", "42", "43", "44", "45")
WOMEN_SHOES = ("36", "37", "38", "39", "40", "41")
WATCH = ("41MM", "45MM")
PHONES = ("15", "15P", "15PM")
PHONE_NAMES = {"15": "iPhone 15", "15P": "iPhone 15 Pro", "15PM": "iPhone 15 Pro Max"}


@dataclass(frozen=True)
class _ProductSpec:
    code: str
    title_en: str
    title_ar: str
    category: str
    supplier: str
    price_minor: int  # halalas, VAT included
    colours: tuple[str, ...]
    sizes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    popularity: float = 1.0
    # How much more often than usual this product comes back (the analytics should find it).
    return_bias: float = 1.0

    @property
    def size_option(self) -> str:
        return "model" if self.sizes == PHONES else "size"

    @property
    def final_sale(self) -> bool:
        return "final-sale" in self.tags


def _p(
    code: str,
    en: str,
    ar: str,
    category: str,
    supplier: str,
    price_minor: int,
    colours: tuple[str, ...],
    sizes: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    popularity: float = 1.0,
    return_bias: float = 1.0,
) -> _ProductSpec:
    return _ProductSpec(
        code, en, ar, category, supplier, price_minor, colours, sizes, tags, popularity,
        return_bias,
    )  # fmt: skip


PRODUCTS: tuple[_ProductSpec, ...] = (
    # abayas
    _p("ABY", "Classic Nida Abaya", "عباية ندى كلاسيكية", "abayas", "riyadh-modest-wear",
       24900, ("BLK", "NVY"), LENGTHS, ("bestseller",), 3.0, 1.3),
    _p("ABE", "Embroidered Crepe Abaya", "عباية كريب مطرزة", "abayas", "riyadh-modest-wear",
       44900, ("BLK", "MRN"), LENGTHS, ("ramadan-collection",), 1.6, 1.2),
    _p("ABK", "Kimono Linen Abaya", "عباية كيمونو كتان", "abayas", "jeddah-tailoring",
       32900, ("BEI", "GRY"), LENGTHS, (), 1.2, 1.1),
    _p("ABO", "Open-Front Bisht Abaya", "عباية بشت مفتوحة", "abayas", "jeddah-tailoring",
       39900, ("BLK", "BRN"), LENGTHS, (), 1.0),
    _p("ABS", "Everyday Sport Abaya", "عباية رياضية يومية", "abayas", "riyadh-modest-wear",
       19900, ("BLK", "NVY", "OLV"), LENGTHS, ("new-arrival",), 1.8),
    _p("ABL", "Luxury Silk Abaya with Lace", "عباية حرير فاخرة بالدانتيل", "abayas",
       "riyadh-modest-wear", 109900, ("BLK",), LENGTHS, ("eid",), 0.5, 1.2),
    # thobes
    _p("THB", "Classic Saudi Thobe", "ثوب سعودي كلاسيكي", "thobes", "jeddah-tailoring",
       18900, ("WHT",), LENGTHS, ("bestseller",), 3.0, 1.2),
    _p("THW", "Winter Wool Thobe", "ثوب شتوي صوف", "thobes", "jeddah-tailoring",
       27900, ("GRY", "BRN", "NVY"), LENGTHS, (), 1.0),
    _p("THE", "Emirati Kandura", "كندورة إماراتية", "thobes", "jeddah-tailoring",
       22900, ("WHT", "BEI"), LENGTHS, (), 0.8),
    _p("THK", "Kids' Eid Thobe", "ثوب العيد للأطفال", "thobes", "jeddah-tailoring",
       11900, ("WHT",), KIDS, ("eid",), 1.2, 1.4),
    _p("THP", "Premium Japanese Cotton Thobe", "ثوب قطن ياباني فاخر", "thobes",
       "jeddah-tailoring", 34900, ("WHT",), LENGTHS, (), 0.9),
    # shemaghs
    _p("SHM", "Red Shemagh", "شماغ أحمر", "shemaghs", "al-haramain-textiles",
       15900, ("RED",), (), ("bestseller",), 2.2, 0.5),
    _p("GHT", "White Ghutra", "غترة بيضاء", "shemaghs", "al-haramain-textiles",
       9900, ("WHT",), (), (), 1.5, 0.5),
    _p("SHP", "Premium Cashmere Shemagh", "شماغ كشمير فاخر", "shemaghs", "al-haramain-textiles",
       29900, ("RED",), (), (), 0.7, 0.8),
    # shirts
    _p("TSB", "Basic Cotton T-Shirt", "تيشيرت قطني أساسي", "shirts", "anatolia-cotton",
       5900, ("BLK", "WHT", "NVY", "GRY"), APPAREL, ("bestseller",), 2.5),
    _p("POL", "Piqué Polo Shirt", "قميص بولو بيكيه", "shirts", "anatolia-cotton",
       11900, ("NVY", "WHT", "OLV"), APPAREL, (), 1.3),
    _p("OXF", "Oxford Button-Down Shirt", "قميص أكسفورد بأزرار", "shirts", "anatolia-cotton",
       14900, ("WHT", "BLU"), APPAREL, (), 1.0),
    _p("LIN", "Linen Summer Shirt", "قميص كتان صيفي", "shirts", "anatolia-cotton",
       13900, ("BEI", "WHT"), APPAREL, ("new-arrival",), 1.0, 1.3),
    _p("HOD", "Fleece Hoodie", "هودي صوف ناعم", "shirts", "anatolia-cotton",
       16900, ("BLK", "GRY"), APPAREL, (), 1.1),
    _p("TSG", "Riyadh Season Graphic Tee", "تيشيرت مطبوع موسم الرياض", "shirts",
       "anatolia-cotton", 7900, ("BLK", "WHT"), APPAREL, ("final-sale", "clearance"), 0.9),
    # dresses
    _p("DRM", "Maxi Chiffon Dress", "فستان شيفون طويل", "dresses", "riyadh-modest-wear",
       27900, ("PNK", "NVY", "GRN"), APPAREL, ("new-arrival",), 1.6, 1.8),
    _p("DRJ", "Embroidered Jalabiya", "جلابية مطرزة", "dresses", "riyadh-modest-wear",
       24900, ("MRN", "GRN", "GLD"), APPAREL, ("ramadan-collection",), 1.4, 1.2),
    _p("DRE", "Satin Evening Dress", "فستان سهرة ساتان", "dresses", "riyadh-modest-wear",
       54900, ("BLK", "MRN"), APPAREL, ("eid",), 0.8, 1.6),
    _p("DRC", "Casual Shirt Dress", "فستان قميص كاجوال", "dresses", "riyadh-modest-wear",
       18900, ("BEI", "BLU"), APPAREL, (), 1.0),
    _p("DRK", "Kaftan with Gold Trim", "قفطان بحواف ذهبية", "dresses", "riyadh-modest-wear",
       32900, ("WHT", "BLK"), APPAREL, ("final-sale", "clearance"), 0.6),
    # shoes
    _p("SNR", "Running Sneakers", "حذاء جري رياضي", "shoes", "gulf-footwear",
       29900, ("BLK", "WHT"), MEN_SHOES, ("bestseller",), 1.8, 1.3),
    _p("SND", "Leather Sharqi Sandals", "نعال شرقية جلد", "shoes", "gulf-footwear",
       18900, ("BRN", "BLK"), MEN_SHOES, (), 2.0),
    _p("LOF", "Suede Loafers", "حذاء لوفر شامواه", "shoes", "gulf-footwear",
       25900, ("BRN", "NVY"), MEN_SHOES, (), 0.9, 1.2),
    _p("HEL", "Block-Heel Pumps", "حذاء كعب عريض", "shoes", "gulf-footwear",
       22900, ("BLK", "BEI"), WOMEN_SHOES, (), 1.0, 1.4),
    _p("FLT", "Women's Ballet Flats", "حذاء باليرينا نسائي", "shoes", "gulf-footwear",
       14900, ("BLK", "PNK"), WOMEN_SHOES, (), 1.2),
    # sportswear
    _p("LEG", "High-Waist Leggings", "ليقنز رياضي بخصر عالٍ", "sportswear", "dubai-active",
       12900, ("BLK", "GRY"), APPAREL, (), 1.5),
    _p("JOG", "Training Joggers", "بنطال رياضي للتمارين", "sportswear", "dubai-active",
       14900, ("BLK", "NVY"), APPAREL, (), 1.3),
    _p("SPB", "Sports Bra", "حمالة صدر رياضية", "sportswear", "dubai-active",
       9900, ("BLK", "PNK"), APPAREL, (), 1.0),
    _p("TRK", "Track Jacket", "جاكيت رياضي", "sportswear", "dubai-active",
       19900, ("NVY", "BLK"), APPAREL, (), 0.9),
    _p("DFT", "Dri-Fit Training Tee", "تيشيرت تمارين سريع الجفاف", "sportswear", "dubai-active",
       8900, ("BLK", "BLU", "GRY"), APPAREL, (), 1.4),
    # underwear
    _p("BXR", "Cotton Boxers (3-pack)", "بوكسر قطني (3 قطع)", "underwear", "anatolia-cotton",
       8900, ("BLK", "GRY"), APPAREL, (), 1.4),
    _p("UND", "Modal Undershirt (2-pack)", "فانلة داخلية مودال (قطعتان)", "underwear",
       "anatolia-cotton", 6900, ("WHT",), APPAREL, (), 1.2),
    _p("SOC", "Ankle Socks (6-pack)", "جوارب قصيرة (6 أزواج)", "underwear", "anatolia-cotton",
       4900, ("BLK", "WHT"), (), (), 1.6),
    _p("BRA", "Seamless Bra", "حمالة صدر بدون خياطة", "underwear", "anatolia-cotton",
       7900, ("BLK", "BEI"), ("S", "M", "L"), (), 0.9),
    # electronics
    _p("EBP", "Wireless Earbuds Pro", "سماعات أذن لاسلكية برو", "electronics",
       "shenzhen-soundtech", 39900, ("BLK", "WHT"), (), ("bestseller",), 2.0, 1.1),
    _p("EBL", "Wireless Earbuds Lite", "سماعات أذن لاسلكية لايت", "electronics",
       "shenzhen-soundtech", 14900, ("BLK", "WHT"), (), (), 2.2, 2.2),
    _p("HPH", "Noise-Cancelling Headphones", "سماعات رأس عازلة للضوضاء", "electronics",
       "shenzhen-soundtech", 89900, ("BLK", "SLV"), (), (), 0.8),
    _p("SWT", "Smart Watch Series 5", "ساعة ذكية الإصدار 5", "electronics",
       "shenzhen-soundtech", 129900, ("BLK", "SLV"), WATCH, ("new-arrival",), 0.9, 1.2),
    _p("FIT", "Fitness Band", "سوار لياقة بدنية", "electronics", "shenzhen-soundtech",
       19900, ("BLK", "PNK"), (), (), 1.2, 1.5),
    _p("SPK", "Portable Bluetooth Speaker", "مكبر صوت بلوتوث محمول", "electronics",
       "shenzhen-soundtech", 24900, ("BLK", "BLU"), (), (), 1.0),
    _p("PWB", "Power Bank 20,000 mAh", "بطارية متنقلة 20,000 مللي أمبير", "electronics",
       "guangzhou-mobile", 14900, ("BLK", "WHT"), (), (), 1.5),
    # mobile accessories
    _p("CSE", "Silicone Case", "جراب سيليكون", "mobile-accessories", "guangzhou-mobile",
       7900, ("BLK", "NVY", "PNK"), PHONES, (), 2.0, 0.8),
    _p("CHG", "65W USB-C Fast Charger", "شاحن سريع USB-C بقوة 65 واط", "mobile-accessories",
       "guangzhou-mobile", 12900, ("WHT",), (), (), 1.6),
    _p("CBL", "Braided USB-C Cable 2 m", "كابل USB-C مجدول 2 متر", "mobile-accessories",
       "guangzhou-mobile", 4900, ("BLK", "WHT"), (), (), 1.8, 0.6),
    _p("CAR", "Magnetic Car Mount", "حامل جوال مغناطيسي للسيارة", "mobile-accessories",
       "guangzhou-mobile", 8900, ("BLK",), (), (), 0.9),
    _p("SCR", "Tempered Glass Screen Protector", "واقي شاشة زجاجي", "mobile-accessories",
       "guangzhou-mobile", 3900, ("BLK",), PHONES, ("final-sale",), 1.4),
    _p("WCH", "3-in-1 Wireless Charging Stand", "قاعدة شحن لاسلكي 3 في 1", "mobile-accessories",
       "guangzhou-mobile", 24900, ("WHT", "BLK"), (), (), 0.8, 1.3),
)  # fmt: skip


@dataclass(frozen=True)
class _VariantSpec:
    product: _ProductSpec
    sku: str
    colour: str
    size: str  # "" when the product has no sizes

    @property
    def label_en(self) -> str:
        parts = [COLOURS[self.colour][0]]
        if self.size:
            parts.append(PHONE_NAMES.get(self.size, self.size))
        return " / ".join(parts)

    @property
    def label_ar(self) -> str:
        parts = [COLOURS[self.colour][1]]
        if self.size:
            parts.append(PHONE_NAMES.get(self.size, self.size))
        return " / ".join(parts)


def _variants(product: _ProductSpec) -> list[_VariantSpec]:
    out = []
    for colour in product.colours:
        for size in product.sizes or ("",):
            sku = "-".join(part for part in (product.code, colour, size) if part)
            out.append(_VariantSpec(product, sku, colour, size))
    return out


def _ean13(rng: random.Random) -> str:
    # 628 is Saudi Arabia's GS1 prefix; the last digit is the EAN-13 check digit.
    body = "628" + "".join(str(rng.randrange(10)) for _n in range(9))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


# -- customers --------------------------------------------------------------------------------

MALE_NAMES = [
    ("محمد", "Mohammed"), ("عبدالله", "Abdullah"), ("فهد", "Fahad"), ("خالد", "Khalid"),
    ("سلطان", "Sultan"), ("عبدالرحمن", "Abdulrahman"), ("فيصل", "Faisal"), ("تركي", "Turki"),
    ("نايف", "Naif"), ("ماجد", "Majed"), ("سعود", "Saud"), ("يوسف", "Yousef"),
    ("عمر", "Omar"), ("أحمد", "Ahmed"), ("بندر", "Bandar"), ("راكان", "Rakan"),
]  # fmt: skip
FEMALE_NAMES = [
    ("نورة", "Noura"), ("سارة", "Sara"), ("ريم", "Reem"), ("لمى", "Lama"), ("هيفاء", "Haifa"),
    ("منيرة", "Munira"), ("العنود", "Alanoud"), ("جود", "Joud"), ("دانة", "Dana"),
    ("لطيفة", "Latifa"), ("شهد", "Shahad"), ("رغد", "Raghad"), ("فاطمة", "Fatimah"),
    ("مها", "Maha"), ("أمل", "Amal"), ("غادة", "Ghada"),
]  # fmt: skip
FAMILY_NAMES = [
    ("القحطاني", "Al-Qahtani"), ("العتيبي", "Al-Otaibi"), ("الشمري", "Al-Shammari"),
    ("الدوسري", "Al-Dosari"), ("الغامدي", "Al-Ghamdi"), ("الزهراني", "Al-Zahrani"),
    ("الحربي", "Al-Harbi"), ("المطيري", "Al-Mutairi"), ("السبيعي", "Al-Subaie"),
    ("العنزي", "Al-Anazi"), ("الشهري", "Al-Shehri"), ("السديري", "Al-Sudairi"),
    ("الرشيد", "Al-Rasheed"), ("الفارس", "Al-Fares"), ("الهاجري", "Al-Hajri"),
    ("البلوي", "Al-Balawi"), ("العمري", "Al-Omari"), ("التميمي", "Al-Tamimi"),
]  # fmt: skip
EXPAT_NAMES = [
    ("James", "Carter"), ("Priya", "Nair"), ("Ahmed", "Khan"), ("Maria", "Santos"),
    ("Daniel", "Brooks"), ("Aisha", "Rahman"), ("Omar", "Farouk"), ("Emily", "Walsh"),
    ("Ravi", "Menon"), ("Sophie", "Martin"), ("Hassan", "Raza"), ("Grace", "Okafor"),
]  # fmt: skip
# Reserved domains (RFC 2606/6761): a demo with a real mail server configured must never
# write to anybody's inbox.
EMAIL_DOMAINS = [("example.com", 45), ("example.net", 20), ("example.org", 15),
                 ("mail.example", 12), ("shop.example", 8)]  # fmt: skip

# (country, weight, [(city_en, city_ar, weight)])
DESTINATIONS: list[tuple[str, int, list[tuple[str, str, int]]]] = [
    ("SA", 86, [("Riyadh", "الرياض", 34), ("Jeddah", "جدة", 22), ("Dammam", "الدمام", 9),
                ("Makkah", "مكة المكرمة", 8), ("Madinah", "المدينة المنورة", 6),
                ("Khobar", "الخبر", 6), ("Abha", "أبها", 4), ("Taif", "الطائف", 4),
                ("Tabuk", "تبوك", 4), ("Buraidah", "بريدة", 3)]),
    ("AE", 7, [("Dubai", "دبي", 5), ("Abu Dhabi", "أبوظبي", 3), ("Sharjah", "الشارقة", 2)]),
    ("KW", 4, [("Kuwait City", "مدينة الكويت", 3), ("Hawalli", "حولي", 1),
               ("Salmiya", "السالمية", 1)]),
    ("EG", 3, [("Cairo", "القاهرة", 3), ("Giza", "الجيزة", 1),
               ("Alexandria", "الإسكندرية", 1)]),
]  # fmt: skip


# Drop-off points of the demo's sandbox carrier, in the cities most demo orders go to.
def _point_near(city: str, n: int) -> tuple[Decimal | None, Decimal | None]:
    centre = city_centre(city)
    if centre is None:
        return None, None
    # Two points a few kilometres from the centre, on either side.
    shift = Decimal("0.021") if n == 1 else Decimal("-0.034")
    return (
        (Decimal(str(centre[0])) + shift).quantize(Decimal("0.000001")),
        (Decimal(str(centre[1])) - shift / 2).quantize(Decimal("0.000001")),
    )


DROP_OFF_POINTS = [
    DropOffPointData("sandbox", f"{city[:3].upper()}-{n}", f"Awda Point {city_en} {n}",
                     f"{n} Market Street, {city_en}", city_en, country,
                     name_ar=f"نقطة عودة {city_ar} {n}",
                     address_ar=f"{n} شارع السوق، {city_ar}",
                     city_ar=city_ar, hours_en="9:00–23:00 daily", hours_ar="يوميًا 9:00–23:00",
                     latitude=_point_near(city_en, n)[0], longitude=_point_near(city_en, n)[1])
    for country, city, city_en, city_ar in [
        ("SA", "riyadh", "Riyadh", "الرياض"), ("SA", "jeddah", "Jeddah", "جدة"),
        ("SA", "dammam", "Dammam", "الدمام"), ("AE", "dubai", "Dubai", "دبي"),
        ("KW", "kuwait", "Kuwait City", "مدينة الكويت"), ("EG", "cairo", "Cairo", "القاهرة"),
    ]
    for n in (1, 2)
]  # fmt: skip


@dataclass(frozen=True)
class _CustomerSpec:
    name: str
    email: str
    phone: str
    language: str
    country: str
    city_en: str
    city_ar: str


def _pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    return rng.choices([v for v, _w in weighted], weights=[w for _v, w in weighted])[0]


def _phone(rng: random.Random, country: str) -> str:
    digits = "".join(str(rng.randrange(10)) for _n in range(8))
    if country == "AE":
        return f"+9715{rng.choice('02458')}{digits[:7]}"
    if country == "KW":
        return f"+965{rng.choice('569')}{digits[:7]}"
    if country == "EG":
        return f"+201{rng.choice('0125')}{digits}"
    return f"+9665{digits}"


def _customers(rng: random.Random, count: int) -> list[_CustomerSpec]:
    used_emails: set[str] = set()
    out = []
    for _n in range(count):
        country = _pick(rng, [(c, w) for c, w, _cities in DESTINATIONS])
        cities = next(cities for c, _w, cities in DESTINATIONS if c == country)
        city_en, city_ar = _pick(rng, [((en, ar), w) for en, ar, w in cities])
        if rng.random() < 0.12:
            first_latin, family_latin = rng.choice(EXPAT_NAMES)
            name, language = f"{first_latin} {family_latin}", "en"
        else:
            (first_ar, first_latin) = rng.choice(rng.choice([MALE_NAMES, FEMALE_NAMES]))
            family_ar, family_latin = rng.choice(FAMILY_NAMES)
            if rng.random() < 0.65:
                name, language = f"{first_ar} {family_ar}", "ar"
            else:
                name = f"{first_latin} {family_latin}"
                language = "ar" if rng.random() < 0.5 else "en"
        local = f"{first_latin}.{family_latin}".lower().replace("-", "").replace(" ", "")
        email = f"{local}@{_pick(rng, EMAIL_DOMAINS)}"
        while email in used_emails:
            email = f"{local}{rng.randrange(10, 999)}@{_pick(rng, EMAIL_DOMAINS)}"
        used_emails.add(email)
        out.append(
            _CustomerSpec(name, email, _phone(rng, country), language, country, city_en, city_ar)
        )
    return out


# -- orders -----------------------------------------------------------------------------------

COUPONS: list[tuple[str, Decimal | int, float]] = [
    # (code, percent as Decimal or flat halalas as int, weight)
    ("WELCOME10", Decimal(10), 4),
    ("EID15", Decimal(15), 3),
    ("SAVE50", 5000, 2),
]
# Local (Riyadh, UTC+3) shopping hours: quiet mornings, busy evenings until after midnight.
HOUR_WEIGHTS = [4, 2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 6, 6, 5, 5, 6, 7, 8, 9, 10, 11, 10, 7]
RIYADH_UTC_OFFSET = timedelta(hours=3)


def _placed_times(rng: random.Random, now: datetime, count: int) -> list[datetime]:
    start_of_today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    moments: list[datetime] = []
    while len(moments) < count:
        # The store grows: recent days see more orders than three months ago.
        days_ago = int(rng.triangular(0, HISTORY_DAYS, 0) if rng.random() < 0.4 else
                       rng.uniform(0, HISTORY_DAYS))  # fmt: skip
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        moment = (
            start_of_today
            - timedelta(days=days_ago)
            + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
            - RIYADH_UTC_OFFSET
        )
        if moment < now - timedelta(minutes=30):
            moments.append(moment)
    return sorted(moments)


def _line_discount(rng: random.Random, product: _ProductSpec, gross: int) -> int:
    if "clearance" in product.tags:
        share = Decimal(rng.choice([30, 40, 50]))
    elif rng.random() < 0.08:
        share = Decimal(rng.choice([10, 20, 25]))
    else:
        return 0
    return int(Decimal(gross) * share / 100)


def _order_data(
    rng: random.Random,
    *,
    number: str,
    placed_at: datetime,
    now: datetime,
    customer: _CustomerSpec,
    products: Sequence[_ProductSpec],
    variants: dict[str, list[_VariantSpec]],
) -> OrderData:
    n_lines = rng.choices([1, 2, 3, 4], weights=[55, 28, 12, 5])[0]
    chosen: list[_ProductSpec] = []
    while len(chosen) < n_lines:
        product = rng.choices(products, weights=[p.popularity for p in products])[0]
        if product not in chosen:
            chosen.append(product)
    lines = []
    for i, product in enumerate(chosen):
        variant = rng.choice(variants[product.code])
        cheap = product.price_minor < 10000
        quantity = rng.choices([1, 2, 3], weights=[70, 22, 8] if cheap else [90, 9, 1])[0]
        gross = product.price_minor * quantity
        lines.append(
            LineData(
                line_ref=str(i + 1),
                sku=variant.sku,
                title_en=f"{product.title_en} – {variant.label_en}",
                title_ar=f"{product.title_ar} – {variant.label_ar}",
                quantity=quantity,
                unit_price_minor=product.price_minor,
                discount_minor=_line_discount(rng, product, gross),
                tax_rate=VAT_RATE,
            )
        )
    net = sum(li.unit_price_minor * li.quantity - li.discount_minor for li in lines)
    tags: list[str] = []
    order_discount = 0
    if rng.random() < 0.18:
        code, amount, _w = rng.choices(COUPONS, weights=[c[2] for c in COUPONS])[0]
        if isinstance(amount, Decimal):
            order_discount = int(Decimal(net) * amount / 100)
        elif net >= 3 * amount:
            order_discount = amount
        if order_discount:
            tags.append(f"coupon-{code.lower()}")
    domestic = customer.country == "SA"
    shipping = 0 if domestic and net >= 20000 else (2500 if domestic else 4500)
    total = net - order_discount + shipping

    method = _pick(
        rng,
        [
            (PaymentMethod.CARD, 60),
            (PaymentMethod.CASH_ON_DELIVERY, 30),
            (PaymentMethod.WALLET, 10),
        ],
    )
    if method == PaymentMethod.CASH_ON_DELIVERY and not domestic:
        method = PaymentMethod.CARD  # cash on delivery is offered inside the kingdom only
    payments = []
    if method in (PaymentMethod.CARD, PaymentMethod.WALLET):
        payments.append(
            PaymentData(
                gateway="sandbox",
                reference=f"sbx_{rng.getrandbits(64):016x}",
                method=method,
                captured_minor=total,
                card_last4=f"{rng.randrange(10000):04d}" if method == PaymentMethod.CARD else "",
            )
        )

    fulfilled_at: datetime | None = placed_at + timedelta(hours=rng.uniform(3, 30))
    transit_days = rng.choices([1, 2, 3, 4, 5, 6], weights=[10, 30, 25, 15, 12, 8])[0]
    transit_days += 2 if not domestic else 0
    delivered_at: datetime | None = placed_at + timedelta(
        days=transit_days, hours=rng.uniform(-4, 6)
    )
    if rng.random() < 0.01:
        delivered_at = None  # lost or held by the carrier: never delivered
    if delivered_at is not None and delivered_at > now:
        delivered_at = None
    if fulfilled_at is not None and fulfilled_at > now:
        fulfilled_at = None
    return OrderData(
        number=number,
        currency="SAR",
        placed_at=placed_at,
        fulfilled_at=fulfilled_at,
        delivered_at=delivered_at,
        customer=CustomerData(
            # The store's own customer id, as a connected store sends it (the analytics
            # count store customers; a guest's orders can't be tied together).
            external_id=str(zlib.crc32(customer.email.encode())),
            email=customer.email,
            phone=customer.phone,
            name=customer.name,
            language=customer.language,
        ),
        lines=lines,
        payment_method=method,
        prices_include_tax=True,
        discount_minor=order_discount,
        shipping_minor=shipping,
        shipping_country=customer.country,
        shipping_address={
            "name": customer.name,
            "phone": customer.phone,
            "city": customer.city_ar if customer.language == "ar" else customer.city_en,
            "country": customer.country,
        },
        tags=tags,
        payments=payments,
    )


# -- returns ----------------------------------------------------------------------------------

# (reason, sub-reason, weight)
FASHION_REASONS = [
    ("size", "too_small", 22), ("size", "too_large", 20),
    ("not_as_described", "colour_differs", 9), ("not_as_described", "material_differs", 6),
    ("quality", "", 11), ("changed_my_mind", "", 14), ("damaged_in_transit", "", 4),
    ("wrong_item", "", 5), ("defective", "", 4), ("arrived_late", "", 5),
]  # fmt: skip
ELECTRONICS_REASONS = [
    ("defective", "", 34), ("not_as_described", "", 10),
    ("not_as_described", "colour_differs", 4), ("changed_my_mind", "", 16),
    ("damaged_in_transit", "", 10), ("quality", "", 12), ("wrong_item", "", 9),
    ("arrived_late", "", 5),
]  # fmt: skip
COMMENTS: dict[str, tuple[str, str]] = {
    "too_small": ("المقاس أصغر من المعتاد، أحتاج مقاسًا أكبر", "Runs small, I need one size up"),
    "too_large": ("واسع جدًا على الأكتاف", "Too loose around the shoulders"),
    "colour_differs": ("اللون أغمق من الصور", "The colour is darker than in the photos"),
    "material_differs": ("القماش أخف مما هو موضح", "The fabric is thinner than described"),
    "defective": ("توقف عن العمل بعد الشحنة الأولى", "Stopped working after the first charge"),
    "defective_fashion": ("السحّاب مكسور", "The zip is broken"),
    "damaged_in_transit": ("وصلت العلبة مكسورة", "The box arrived crushed"),
    "wrong_item": ("وصلني لون مختلف عن طلبي", "I received a different colour than I ordered"),
    "quality": ("الجودة أقل من المتوقع بكثير", "Much lower quality than expected"),
    "arrived_late": ("وصل بعد المناسبة", "Arrived after the occasion"),
    "changed_my_mind": ("لم أعد بحاجة إليه", "No longer needed"),
}
REJECTION_REASONS = [
    "Photos show the item was worn and the tags removed.",
    "The serial number doesn't match the unit we sold.",
    "Returned after the accessories were discarded.",
]
# High-value lines go to an agent first, so the demo has a review queue and rejections.
DEMO_STOCK_PER_SKU = 40  # every variant in stock, so the seeded exchanges can reserve

REVIEW_RULE = {
    "id": "review-high-value",
    "name": "High-value items are reviewed",
    "name_ar": "مراجعة المنتجات عالية القيمة",
    "when": {"price_min_minor": 80000},
    "then": {"manual_review": True},
}
# Trusted shoppers get their money at the carrier's first scan instead of at delivery. No
# seeded customer has the tag; the money walk-throughs' shoppers do (see below).
TRUSTED_RULE = {
    "id": "trusted-first-scan",
    "name": "Trusted customers get their money at the carrier's first scan",
    "name_ar": "يستردّ العملاء الموثوقون أموالهم عند أول مسح من شركة الشحن",
    "when": {"customer_tags": ["trusted"]},
    "then": {"refund_timing": "first_scan"},
}
# Customers the store lets pay a dearer exchange's difference in cash to the courier who
# brings the replacement, instead of by payment link first. Again only a walk-through's
# shoppers have the tag.
PAY_ON_DELIVERY_RULE = {
    "id": "pay-on-delivery-exchanges",
    "name": "Tagged customers pay a dearer exchange's difference in cash on delivery",
    "name_ar": "يدفع العملاء المحددون فرق سعر الاستبدال الأغلى نقدًا عند التوصيل",
    "when": {"customer_tags": ["pay-on-delivery"]},
    "then": {"exchange_price_higher": "collect_on_delivery"},
}
# The rules the money walk-throughs need, added to a store seeded before them.
WALKTHROUGH_RULES = (TRUSTED_RULE, PAY_ON_DELIVERY_RULE)


@dataclass(frozen=True)
class _ReturnPlan:
    order_number: str
    language: str
    domestic: bool
    requested_at: datetime
    items: list[ItemRequest]


def _exchange_target(variant: _VariantSpec, sub_reason: str) -> str | None:
    sizes = variant.product.sizes
    if not variant.size or variant.size not in sizes:
        return None
    step = 1 if sub_reason == "too_small" else -1
    index = sizes.index(variant.size) + step
    if not 0 <= index < len(sizes):
        return None
    return "-".join((variant.product.code, variant.colour, sizes[index]))


def _item_request(
    rng: random.Random, line: LineData, variant: _VariantSpec, language: str
) -> ItemRequest:
    product = variant.product
    electronic = product.category in ELECTRONIC_CATEGORIES
    table = ELECTRONICS_REASONS if electronic else FASHION_REASONS
    if not product.sizes:
        table = [r for r in table if r[0] != "size"]
    reason, sub_reason, _w = rng.choices(table, weights=[r[2] for r in table])[0]

    resolution = Resolution.REFUND
    exchange_sku = None
    target = _exchange_target(variant, sub_reason) if reason == "size" else None
    roll = rng.random()
    if target and roll < 0.4:
        resolution, exchange_sku = Resolution.EXCHANGE, target
    elif reason == "defective" and electronic and roll < 0.25:
        resolution, exchange_sku = Resolution.EXCHANGE, variant.sku  # a working unit
    elif roll > 0.75:
        resolution = Resolution.STORE_CREDIT

    comment = ""
    if rng.random() < 0.35:
        key = sub_reason or reason
        if key == "defective" and not electronic:
            key = "defective_fashion"
        if key in COMMENTS:
            comment = COMMENTS[key][0 if language == "ar" else 1]
    quantity = line.quantity if line.quantity == 1 or rng.random() < 0.6 else 1
    return ItemRequest(
        line_ref=line.line_ref,
        quantity=quantity,
        reason=reason,
        sub_reason=sub_reason,
        comment=comment,
        resolution=resolution,
        exchange_sku=exchange_sku,
    )


def _plan_returns(
    rng: random.Random,
    orders: Sequence[OrderData],
    variants_by_sku: dict[str, _VariantSpec],
    now: datetime,
) -> list[_ReturnPlan]:
    candidates: list[tuple[float, OrderData, datetime, list[tuple[LineData, _VariantSpec]]]] = []
    for order in orders:
        delivered_at = order.delivered_at
        if delivered_at is None or delivered_at > now - timedelta(days=1):
            continue
        lines = [
            (li, variants_by_sku[li.sku])
            for li in order.lines
            if not variants_by_sku[li.sku].product.final_sale
            and variants_by_sku[li.sku].product.category != "underwear"
        ]
        if lines:
            weight = max(v.product.return_bias for _li, v in lines)
            candidates.append((weight, order, delivered_at, lines))
    target = round(len(orders) * RETURN_RATE)
    if len(orders) >= 30:
        target = max(target, 3)
    # Weighted sampling without replacement (Efraimidis–Spirakis): products that come back
    # more often are over-represented, as they are in a real store's returns.
    keyed = sorted(candidates, key=lambda c: rng.random() ** (1 / c[0]), reverse=True)
    chosen = sorted(keyed[:target], key=lambda c: c[1].placed_at)

    plans = []
    for _weight, order, delivered_at, lines in chosen:
        language = order.customer.language or "ar"
        picked = [(li, v) for li, v in lines if rng.random() < 0.35 * v.product.return_bias] or [
            max(lines, key=lambda lv: lv[1].product.return_bias)
        ]
        items = [_item_request(rng, li, v, language) for li, v in picked]
        requested_at = delivered_at + timedelta(hours=rng.uniform(10, 9 * 24))
        requested_at = min(requested_at, now - timedelta(hours=2))
        plans.append(
            _ReturnPlan(
                order_number=order.number,
                language=language,
                domestic=order.shipping_country == "SA",
                requested_at=requested_at,
                items=items,
            )
        )
    return plans


def _method(rng: random.Random, domestic: bool) -> str:
    if not domestic:
        return _pick(rng, [(ReturnMethod.LABEL, 70), (ReturnMethod.PICKUP, 30)])
    return _pick(
        rng, [(ReturnMethod.LABEL, 35), (ReturnMethod.QR_DROPOFF, 45), (ReturnMethod.PICKUP, 20)]
    )


def _play_return(
    rng: random.Random, merchant: Merchant, plan: _ReturnPlan, now: datetime, staff: str
) -> Return | None:
    """Request one return at its moment in the past, then play out what happened next."""
    with clock.frozen_at(plan.requested_at):
        try:
            ret = request_return(
                merchant=merchant,
                order_number=plan.order_number,
                items=plan.items,
                method=_method(rng, plan.domestic),
                language=plan.language,
                channel="portal",
                actor="shopper",
            )
        except DomainError:
            return None  # the policy said no (as it would have for this shopper then)

    def later(hours_low: float, hours_high: float) -> datetime | None:
        moment = plan.requested_at + timedelta(hours=rng.uniform(hours_low, hours_high))
        return moment if moment < now else None

    if ret.status == ReturnStatus.PENDING_REVIEW:
        moment = later(4, 36)
        if moment is None:
            return ret  # still in the agent's queue
        with clock.frozen_at(moment):
            if rng.random() < 0.35:
                return reject_return(
                    merchant=merchant,
                    number=ret.number,
                    actor=staff,
                    reason=rng.choice(REJECTION_REASONS),
                )
            ret = approve_return(merchant=merchant, number=ret.number, actor=staff)
    if ret.status != ReturnStatus.APPROVED:
        return ret
    if rng.random() < 0.06:
        moment = later(1, 20)
        if moment is not None:
            with clock.frozen_at(moment):
                return cancel_return(
                    merchant=merchant,
                    number=ret.number,
                    actor="shopper",
                    note="Found a size that fits after all." if plan.language == "en" else
                    "وجدت مقاسًا مناسبًا في النهاية.",
                )  # fmt: skip
    with clock.frozen_at(ret.approved_at or plan.requested_at):
        shipment = issue_return_shipment(return_id=ret.pk)
    # Most parcels reach the warehouse within the expiry window; the rest are left for the
    # expiry job, as shoppers who never ship are. The carrier's scans come first.
    if shipment is None or rng.random() >= 0.85:
        return ret
    scanned = later(6, 48)
    if scanned is None:
        return ret
    delivered = scanned + timedelta(hours=rng.uniform(24, 96))
    received = delivered + timedelta(hours=rng.uniform(2, 48))
    for status, moment in (
        (TrackingStatus.FIRST_SCAN, scanned),
        (TrackingStatus.DELIVERED, delivered),
    ):
        if moment >= now:
            return ret
        with clock.frozen_at(moment):
            advance_sandbox_parcel(tracking_number=shipment.tracking_number, to=status, at=moment)
    if received >= now:
        return ret
    with clock.frozen_at(received):
        return record_receipt(merchant=merchant, number=ret.number, actor=staff)


# -- seeding ----------------------------------------------------------------------------------


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def seed_demo(*, orders: int = 2000, seed: int = 7, progress: bool = True) -> DemoInfo:
    """Build the demo store once (deterministic for ``seed``); later calls return its info."""
    started = time.monotonic()
    existing = Merchant.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return _info(existing, created=False, seconds=time.monotonic() - started)
    try:
        # One transaction for the whole store: a seed that fails half-way leaves nothing,
        # so the "already seeded" check above never mistakes a broken store for a full one.
        with transaction.atomic():
            merchant = _seed(orders=orders, seed=seed, progress=progress)
    except IntegrityError:
        # Another process seeded the demo at the same moment: use theirs.
        existing = Merchant.objects.filter(slug=DEMO_SLUG).first()
        if existing is None:
            raise
        return _info(existing, created=False, seconds=time.monotonic() - started)
    # The staff's analytics over the whole history seeded (the hourly refresh covers only
    # the last days): the dashboard opens with figures, flags and charts.
    refresh_rollups(merchant=merchant)
    return _info(merchant, created=True, seconds=time.monotonic() - started)


def _demo_logo() -> bytes:
    """A plain wordmark for the demo store's labels (drawn here: no image files to ship)."""
    image = Image.new("RGB", (360, 120), (15, 118, 110))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 8, 352, 112), radius=18, outline=(255, 255, 255), width=4)
    draw.text((180, 60), "AWDA DEMO", fill=(255, 255, 255), anchor="mm", font_size=44)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _seed(*, orders: int, seed: int, progress: bool) -> Merchant:
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not secrets
    now = clock.now().replace(second=0, microsecond=0)
    merchant = create_merchant(
        slug=DEMO_SLUG,
        name="Awda Demo Fashion & Electronics",
        name_ar="متجر عودة للأزياء والإلكترونيات",
        currency="SAR",
        country="SA",
        default_language="ar",
    )
    install_default_reasons(merchant=merchant)
    save_drop_off_points(merchant=merchant, points=DROP_OFF_POINTS)
    set_label_logo(merchant=merchant, data=_demo_logo())
    merchant.return_address = {
        "name": "Awda Demo Returns",
        "line1": "Warehouse 7, Al Sulay Logistics Park",
        "district": "Al Sulay",
        "city": "Riyadh",
        "postcode": "14322",
        "country": "SA",
        "phone": "+966110000000",
    }
    merchant.save(update_fields=["return_address"])
    # The offline sandbox carrier serves every method: labels, QR drop-off and pickups.
    connect_carrier(merchant=merchant, carrier="sandbox", name="Sandbox Express", settings={})
    # The demo's card and wallet payments were taken through the offline sandbox gateway.
    connect_gateway(merchant=merchant, gateway="sandbox", name="Sandbox Pay", settings={})
    policy = default_policy(currency="SAR", country="SA").to_data()
    policy["rules"] = [*policy.get("rules", []), REVIEW_RULE, *WALKTHROUGH_RULES]
    replace_policy(merchant=merchant, document=policy)
    membership = add_staff(
        merchant=merchant,
        username=DEMO_USERNAME,
        email="owner@demo.awda.invalid",
        password=DEMO_PASSWORD,
        role=StaffRole.OWNER,
        admin_access=True,  # the demo prints an admin login, so it must open Django admin
    )
    add_staff(
        merchant=merchant,
        username=WAREHOUSE_USERNAME,
        email="warehouse@demo.awda.invalid",
        password=DEMO_PASSWORD,
        role=StaffRole.WAREHOUSE,
    )
    staff_actor = f"staff:{membership.user_id}"

    variants: dict[str, list[_VariantSpec]] = {}
    for product in PRODUCTS:
        specs = _variants(product)
        variants[product.code] = specs
        upsert_product(
            merchant=merchant,
            data=ProductData(
                external_id=f"demo-{product.code.lower()}",
                title_en=product.title_en,
                title_ar=product.title_ar,
                category_code=product.category,
                category_name_en=CATEGORIES[product.category][0],
                category_name_ar=CATEGORIES[product.category][1],
                supplier_code=product.supplier,
                supplier_name=SUPPLIERS[product.supplier],
                tags=product.tags,
                final_sale=product.final_sale,
                variants=[
                    VariantData(
                        sku=v.sku,
                        price_minor=product.price_minor,
                        options={
                            "colour": COLOURS[v.colour][0].lower(),
                            **({product.size_option: v.size} if v.size else {}),
                        },
                        barcode=_ean13(rng),
                    )
                    for v in specs
                ],
            ),
        )
    variants_by_sku = {v.sku: v for specs in variants.values() for v in specs}
    # Units in the warehouse: exchanges reserve from them (and the portal offers only sizes
    # still in stock).
    set_stock_levels(merchant=merchant, levels=dict.fromkeys(variants_by_sku, DEMO_STOCK_PER_SKU))

    customers = _customers(rng, max(5, int(orders * 0.55)))
    # A few loyal shoppers buy again and again; most buy once or twice.
    customer_weights = [1 / (rank + 1) ** 0.6 for rank in range(len(customers))]
    placed = _placed_times(rng, now, orders)
    plan = [
        _order_data(
            rng,
            number=str(10001 + i),
            placed_at=placed_at,
            now=now,
            customer=rng.choices(customers, weights=customer_weights)[0],
            products=PRODUCTS,
            variants=variants,
        )
        for i, placed_at in enumerate(placed)
    ]
    with tqdm(total=len(plan), desc=_("orders"), unit=_("order"), disable=not progress) as bar:
        for batch in _batches(plan, 250):
            with transaction.atomic():
                for data in batch:
                    upsert_order(merchant=merchant, data=data)
            bar.update(len(batch))

    returns = _plan_returns(rng, plan, variants_by_sku, now)
    for ret_plan in tqdm(returns, desc=_("returns"), unit=_("return"), disable=not progress):
        _play_return(rng, merchant, ret_plan, now, staff_actor)
    return merchant


def _example_order(merchant: Merchant) -> Order | None:
    """A recent delivered order with no return yet whose every line can be returned."""
    now = clock.now()
    blocked = (
        Q(lines__product__final_sale=True)
        | Q(lines__product__returnable=False)
        | Q(lines__product__category__code="underwear")
    )
    base = (
        Order.objects.for_merchant(merchant)
        .filter(delivered_at__isnull=False, delivered_at__lte=now)
        .exclude(returns__isnull=False)
        .annotate(line_count=Count("lines"))
        .select_related("customer")
    )
    recent = base.filter(delivered_at__gte=now - timedelta(days=6)).exclude(blocked)
    for qs in (
        recent.filter(line_count__gte=2).order_by("-delivered_at"),
        recent.order_by("-delivered_at"),
        base.exclude(blocked).order_by("-delivered_at"),
        base.order_by("-delivered_at"),
    ):
        order = qs.first()
        if order is not None:
            return order
    return None


def _info(merchant: Merchant, *, created: bool, seconds: float) -> DemoInfo:
    example = _example_order(merchant)
    user = get_user_model().objects.filter(username=DEMO_USERNAME).first()
    password = DEMO_PASSWORD if user is not None and user.check_password(DEMO_PASSWORD) else ""
    key = issue_api_key(merchant=merchant, name="demo")
    statuses: dict[str, int] = dict(
        Return.objects.for_merchant(merchant)
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return DemoInfo(
        merchant_slug=merchant.slug,
        example_order_number=example.number if example else "",
        example_order_email=example.customer.email if example else "",
        example_order_phone=example.customer.phone if example else "",
        staff_username=DEMO_USERNAME,
        staff_password=password,
        api_key=key.plaintext,
        products=Product.objects.for_merchant(merchant).count(),
        variants=Variant.objects.for_merchant(merchant).count(),
        customers=Customer.objects.for_merchant(merchant).count(),
        orders=Order.objects.for_merchant(merchant).count(),
        returns=sum(statuses.values()),
        returns_by_status=dict(sorted(statuses.items())),
        created=created,
        seconds=seconds,
    )


# -- money walk-throughs ----------------------------------------------------------------------
# docs/demo-money.md walks each way money goes back by hand, in Arabic and in English, on
# orders made here; tests/browser/test_money_walkthroughs.py walks the same orders.

CARD_REFUND = "card_refund"
COD_TRANSFER = "cod_transfer"
STORE_CREDIT = "store_credit"
EXCHANGE_ON_DELIVERY = "exchange_on_delivery"
WALKTHROUGH_CARD_LAST4 = "4242"
# An order older than this may be past the policy's window by the time someone walks it.
WALKTHROUGH_FRESH_DAYS = 20


@dataclass(frozen=True)
class _Shopper:
    name: str
    email: str  # reserved domain: a demo with a real mail server writes to nobody
    phone: str


@dataclass(frozen=True)
class _Walkthrough:
    kind: str
    sku: str
    payment_method: str
    # "trusted" (TRUSTED_RULE): the money goes at the first scan, not at delivery;
    # "pay-on-delivery" (PAY_ON_DELIVERY_RULE): a dearer exchange is paid to the courier.
    tags: tuple[str, ...]
    shoppers: dict[str, _Shopper]  # by language: each walks their own order


WALKTHROUGHS: tuple[_Walkthrough, ...] = (
    _Walkthrough(CARD_REFUND, "ABY-BLK-54", PaymentMethod.CARD, ("trusted",), {
        "ar": _Shopper("نورة القحطاني", "noura.card@example.com", "+966500000101"),
        "en": _Shopper("James Carter", "james.card@example.com", "+966500000102"),
    }),
    _Walkthrough(COD_TRANSFER, "SNR-WHT-42", PaymentMethod.CASH_ON_DELIVERY, (), {
        "ar": _Shopper("فهد العتيبي", "fahad.cod@example.com", "+966500000103"),
        "en": _Shopper("Priya Nair", "priya.cod@example.com", "+966500000104"),
    }),
    _Walkthrough(STORE_CREDIT, "DRJ-GRN-M", PaymentMethod.CARD, ("trusted",), {
        "ar": _Shopper("ريم الدوسري", "reem.credit@example.com", "+966500000105"),
        "en": _Shopper("Daniel Brooks", "daniel.credit@example.com", "+966500000106"),
    }),
    # Paid in cash; exchanged for a dearer thobe (any product of the category, by the
    # default policy's exchange scope), the difference paid to the courier.
    _Walkthrough(EXCHANGE_ON_DELIVERY, "THB-WHT-56", PaymentMethod.CASH_ON_DELIVERY,
                 ("pay-on-delivery",), {
        "ar": _Shopper("سلمان الشهري", "salman.exchange@example.com", "+966500000107"),
        "en": _Shopper("Laura Bennett", "laura.exchange@example.com", "+966500000108"),
    }),
)  # fmt: skip


@dataclass(frozen=True)
class WalkthroughOrder:
    """An order ready for one money walk-through in one language."""

    kind: str
    language: str
    number: str
    email: str
    phone: str


def prepare_money_walkthroughs(*, slug: str = DEMO_SLUG) -> list[WalkthroughOrder]:
    """For each walk-through and language, the shopper's newest order with no return yet,
    made now when there is none (so every start of the demo prints orders ready to walk).

    A store seeded before the walk-throughs existed gets what they need first: the sandbox
    payment gateway and the walk-throughs' rules (trusted shoppers refunded at the first
    scan; tagged shoppers paying a dearer exchange on delivery).
    """
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(slug=slug)
        if not GatewayAccount.objects.filter(
            merchant=merchant, gateway="sandbox", active=True
        ).exists():
            connect_gateway(merchant=merchant, gateway="sandbox", name="Sandbox Pay", settings={})
        _version, policy = active_policy(merchant=merchant)
        have = {rule.id for rule in policy.rules}
        missing = [rule for rule in WALKTHROUGH_RULES if rule["id"] not in have]
        if missing:
            document = policy.to_data()
            document["rules"] = [*document.get("rules", []), *missing]
            replace_policy(merchant=merchant, document=document)
        variants = {v.sku: v for product in PRODUCTS for v in _variants(product)}
        ready = []
        for walk in WALKTHROUGHS:
            for language, shopper in walk.shoppers.items():
                order = _unused_order(merchant, shopper) or _walkthrough_order(
                    merchant, walk, variants[walk.sku], language, shopper
                )
                ready.append(
                    WalkthroughOrder(
                        walk.kind, language, order.number, shopper.email, shopper.phone
                    )
                )
        return ready


def _unused_order(merchant: Merchant, shopper: _Shopper) -> Order | None:
    return (
        Order.objects.for_merchant(merchant)
        .filter(
            customer__email=shopper.email,
            delivered_at__gte=clock.now() - timedelta(days=WALKTHROUGH_FRESH_DAYS),
            returns__isnull=True,
        )
        .order_by("-placed_at", "-pk")
        .first()
    )


def _walkthrough_order(
    merchant: Merchant, walk: _Walkthrough, variant: _VariantSpec, language: str, shopper: _Shopper
) -> Order:
    existing = Order.objects.for_merchant(merchant).filter(number__startswith="M").count()
    number = f"M{1001 + existing}"
    while Order.objects.for_merchant(merchant).filter(number=number).exists():
        number = f"M{int(number[1:]) + 1}"
    now = clock.now().replace(second=0, microsecond=0)
    price = variant.product.price_minor
    order, _created = upsert_order(
        merchant=merchant,
        data=OrderData(
            number=number,
            currency="SAR",
            placed_at=now - timedelta(days=5),
            fulfilled_at=now - timedelta(days=4),
            delivered_at=now - timedelta(days=2),
            customer=CustomerData(
                email=shopper.email,
                phone=shopper.phone,
                name=shopper.name,
                language=language,
                tags=walk.tags,
            ),
            lines=[
                LineData(
                    line_ref="1",
                    sku=variant.sku,
                    title_en=f"{variant.product.title_en} – {variant.label_en}",
                    title_ar=f"{variant.product.title_ar} – {variant.label_ar}",
                    quantity=1,
                    unit_price_minor=price,
                    tax_rate=VAT_RATE,
                )
            ],
            payment_method=walk.payment_method,
            prices_include_tax=True,
            shipping_country="SA",
            shipping_address={
                "name": shopper.name,
                "phone": shopper.phone,
                "city": "الرياض" if language == "ar" else "Riyadh",
                "country": "SA",
            },
            payments=[
                PaymentData(
                    gateway="sandbox",
                    reference=f"sbx_walkthrough_{number.lower()}",
                    method=walk.payment_method,
                    captured_minor=price,
                    card_last4=WALKTHROUGH_CARD_LAST4,
                )
            ]
            if walk.payment_method == PaymentMethod.CARD
            else [],
        ),
    )
    return order

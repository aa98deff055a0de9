"""Bank-transfer payout files for cash-on-delivery refunds.

A cash-on-delivery shopper paid the courier, so the refund goes back by bank transfer to an
IBAN they gave us. The merchant pays a batch of those refunds from their own account: Awda
writes the batch as an ISO 20022 ``pain.001`` (Customer Credit Transfer Initiation) file for
the bank's corporate portal, or as a CSV for banks and people who want a spreadsheet.

Pure: no Django, no database. The caller (a service) builds a :class:`PayoutBatch` from
stored resolutions, calls :func:`validate_batch`, shows the problems or renders a file.
Amounts are integer minor units: every decimal in the files is written from those integers
at the currency's exponent (SAR 2, KWD 3, JPY 0), so no amount ever passes through a float.

Both files carry full IBANs and names: they are as sensitive as the bank details they hold.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal, get_args

from schwifty import BIC, IBAN
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)

from awda.core.money import Money, exponent, sum_money
from awda.core.spreadsheet import guard_cell

Pain001Version = Literal["pain.001.001.09", "pain.001.001.03"]
Charset = Literal["unicode", "latin"]
ChargeBearer = Literal["SLEV", "DEBT", "SHAR", "CRED"]

DEFAULT_VERSION: Final[Pain001Version] = "pain.001.001.09"
SUPPORTED_VERSIONS: Final[tuple[Pain001Version, ...]] = get_args(Pain001Version)

# Both supported versions type Nm, Ustrd as Max140Text and the ids as Max35Text.
MAX_ID_LENGTH: Final = 35
MAX_NAME_LENGTH: Final = 140
MAX_REMITTANCE_LENGTH: Final = 140
# ActiveOrHistoricCurrencyAndAmount and DecimalNumber both allow 18 significant digits.
_MAX_DIGITS: Final = 18

CSV_COLUMNS: Final = (
    "end_to_end_id",
    "creditor_name",
    "iban",
    "bic",
    "amount",
    "currency",
    "remittance",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutLine:
    """One refund to one shopper's account."""

    end_to_end_id: str
    amount_minor: int
    currency: str
    creditor_name: str
    creditor_iban: str
    creditor_bic: str = ""
    remittance: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatch:
    """One file: the merchant's account pays every line, on one date, in one currency."""

    message_id: str
    created_at: datetime
    debtor_name: str
    debtor_iban: str
    debtor_bic: str = ""
    requested_date: date
    lines: Sequence[PayoutLine]
    batch_booking: bool = True


@dataclass(frozen=True, slots=True)
class PayoutProblem:
    """Why a batch can't be written: the field's path (``lines.3.creditor_iban``, lines
    counted from 0), a stable code and an English reason for logs and operators."""

    field: str
    code: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidPayoutBatch(ValueError):
    """The batch has problems; rendering it would give the bank a file it rejects."""

    def __init__(self, problems: Sequence[PayoutProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


# -- text ----------------------------------------------------------------------------------

# The EPC's "Latin character set" for SEPA credit transfers, the set most bank file formats
# accept when they don't accept Unicode.
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
# Identifiers are echoed back in bank statements and matched during reconciliation: keep them
# to the Latin set minus the space. Awda generates them, so the restriction costs nothing.
_ID = re.compile(r"[A-Za-z0-9/\-?:().,'+]+")
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Punctuation with an obvious Latin-set stand-in (the EPC's conversion advice for "&" is "+").
_LATIN_PUNCTUATION = str.maketrans(
    {
        "&": "+",
        '"': "'",
        "“": "'",
        "”": "'",
        "„": "'",
        "«": "'",
        "»": "'",
        "‘": "'",
        "’": "'",
        "`": "'",
        "´": "'",
        "–": "-",
        "—": "-",
        "‐": "-",
        "_": "-",
        "[": "(",
        "{": "(",
        "<": "(",
        "]": ")",
        "}": ")",
        ">": ")",
        ";": ",",
        "،": ",",
        "؛": ",",
        "؟": "?",
        "!": ".",
    }
)
# Latin letters that Unicode does not decompose into a base letter plus accents.
_LATIN_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Ø": "O",
        "ø": "o",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Þ": "TH",
        "þ": "th",
        "ı": "i",
    }
)


class _Unwritable(ValueError):
    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(reason)


def _is_xml_char(ch: str) -> bool:
    cp = ord(ch)
    return (
        cp in (0x9, 0xA, 0xD)
        or 0x20 <= cp <= 0xD7FF
        or 0xE000 <= cp <= 0xFFFD
        or 0x10000 <= cp <= 0x10FFFF
    )


def _text(value: object, charset: Charset) -> str:
    """``value`` as it goes into a file: whitespace collapsed, invisible formatting marks
    removed and, for ``latin``, folded to the Latin set; or _Unwritable."""
    if not isinstance(value, str):
        raise _Unwritable("not_text", "must be text")
    bad = sorted(
        {
            ch
            for ch in value
            if not _is_xml_char(ch) or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
        }
    )
    if bad:
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in bad)
        raise _Unwritable("control_character", f"contains control characters ({codes})")
    # Direction marks and zero-width characters (Unicode "format" characters) ride along
    # when a name is copied from an Arabic page or typed in an RTL field: invisible to the
    # merchant, but a bank's name check compares them.
    visible = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
    text = " ".join(visible.split())
    return _to_latin(text) if charset == "latin" else text


def _to_latin(text: str) -> str:
    out: list[str] = []
    refused: list[str] = []
    for ch in text.translate(_ARABIC_DIGITS).translate(_LATIN_PUNCTUATION):
        if ch in _LATIN:
            out.append(ch)
            continue
        folded = ch.translate(_LATIN_LETTERS)
        if folded == ch:
            folded = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
        if folded and all(c in _LATIN for c in folded):
            out.append(folded)
        elif unicodedata.category(ch)[0] in "LN":
            # A letter or digit of another script: transliterating a name (Arabic has no
            # written short vowels, so محمد could be Mohammed, Muhammad, Mohamed...) would
            # invent a spelling the account holder's bank has never seen.
            if ch not in refused:
                refused.append(ch)
        else:
            out.append(" ")  # a symbol with no Latin-set stand-in: a separator at most
    if refused:
        if all(unicodedata.name(c, "").startswith("ARABIC") for c in refused):
            what = "Arabic letters"
        else:
            what = "letters outside the Latin alphabet (" + " ".join(refused[:5]) + ")"
        raise _Unwritable(
            "not_latin",
            f"has {what}, which the Latin character set cannot carry: enter it in Latin "
            "letters as the bank knows it, or use a bank that accepts Unicode files",
        )
    return " ".join("".join(out).split())


# -- amounts -------------------------------------------------------------------------------


def _decimal(minor: int, currency: str) -> str:
    """``minor`` units of ``currency`` as a plain decimal at its exponent: 24050 SAR is
    ``240.50``, 1500 KWD is ``1.500``, 1500 JPY is ``1500``. Integer arithmetic only."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if places == 0:
        return sign + digits
    digits = digits.rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def batch_total(batch: PayoutBatch) -> Money:
    """What the batch pays in all (the files' control sum), for the merchant to confirm."""
    if not batch.lines:
        raise ValueError("an empty batch has no currency")
    currency = batch.lines[0].currency
    return sum_money([Money(line.amount_minor, line.currency) for line in batch.lines], currency)


# -- validation ----------------------------------------------------------------------------

_BIC_PATTERNS: Final[dict[Pain001Version, re.Pattern[str]]] = {
    # BICFIDec2014Identifier (ISO 9362:2014 allows digits in the institution code).
    "pain.001.001.09": re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?"),
    # BICIdentifier of 2009: letters only in the institution code.
    "pain.001.001.03": re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?"),
}

_Add = Callable[[str, str, str], None]


def _check_options(version: str, charset: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported pain.001 version {version!r}; use {SUPPORTED_VERSIONS}")
    if charset not in get_args(Charset):
        raise ValueError(f"charset must be 'unicode' or 'latin', not {charset!r}")


def validate_batch(
    batch: PayoutBatch,
    *,
    version: Pain001Version = DEFAULT_VERSION,
    charset: Charset = "unicode",
) -> list[PayoutProblem]:
    """Everything wrong with ``batch`` for ``version`` and ``charset``; empty when the file
    can be written."""
    _check_options(version, charset)
    problems: list[PayoutProblem] = []

    def add(field: str, code: str, reason: str) -> None:
        problems.append(PayoutProblem(field, code, reason))

    _check_id(batch.message_id, "message_id", add)
    if batch.created_at.tzinfo is None or batch.created_at.utcoffset() is None:
        add("created_at", "naive_datetime", "must be timezone-aware")
    elif batch.requested_date < batch.created_at.date():
        add(
            "requested_date",
            "date_in_past",
            f"{batch.requested_date.isoformat()} is before the file is created "
            f"({batch.created_at.date().isoformat()}); banks refuse past execution dates",
        )
    _check_text(batch.debtor_name, "debtor_name", MAX_NAME_LENGTH, charset, add, required=True)
    _check_iban(batch.debtor_iban, "debtor_iban", add)
    _check_bic(batch.debtor_bic, "debtor_bic", version, add)

    if not batch.lines:
        add("lines", "no_lines", "a payout file needs at least one payment")
        return problems

    currency = batch.lines[0].currency
    currency_known = _is_currency(currency)
    first_seen: dict[str, int] = {}
    for i, line in enumerate(batch.lines):
        at = f"lines.{i}"
        if _check_id(line.end_to_end_id, f"{at}.end_to_end_id", add):
            # Banks treat references case-insensitively when they look for duplicates.
            key = line.end_to_end_id.casefold()
            if key in first_seen:
                add(
                    f"{at}.end_to_end_id",
                    "duplicate_id",
                    f"{line.end_to_end_id!r} is already used by lines.{first_seen[key]}",
                )
            else:
                first_seen[key] = i
        if not _is_currency(line.currency):
            add(
                f"{at}.currency",
                "unknown_currency",
                f"{line.currency!r} is not an ISO 4217 currency code",
            )
        elif currency_known and line.currency != currency:
            # pain.001 would allow it, but a refund batch in two currencies is an operator
            # error (a store's orders are in its currency), and a bank total over mixed
            # currencies means nothing.
            add(
                f"{at}.currency",
                "mixed_currency",
                f"{line.currency} differs from the batch's {currency} (lines.0): "
                "one file pays in one currency",
            )
        amount = line.amount_minor
        if isinstance(amount, bool) or not isinstance(amount, int):
            add(f"{at}.amount_minor", "not_minor_units", "must be an integer of minor units")
        elif amount <= 0:
            add(f"{at}.amount_minor", "not_positive", "must be more than zero")
        _check_text(
            line.creditor_name,
            f"{at}.creditor_name",
            MAX_NAME_LENGTH,
            charset,
            add,
            required=True,
        )
        _check_iban(line.creditor_iban, f"{at}.creditor_iban", add)
        _check_bic(line.creditor_bic, f"{at}.creditor_bic", version, add)
        _check_text(
            line.remittance,
            f"{at}.remittance",
            MAX_REMITTANCE_LENGTH,
            charset,
            add,
            required=False,
        )

    amounts = [line.amount_minor for line in batch.lines]
    if all(type(a) is int for a in amounts) and len(str(abs(sum(amounts)))) > _MAX_DIGITS:
        add("lines", "total_too_large", f"the total has more than {_MAX_DIGITS} digits")
    return problems


def _check_id(value: object, field: str, add: _Add) -> bool:
    if not isinstance(value, str) or not value:
        add(field, "required", "is required")
        return False
    ok = True
    if len(value) > MAX_ID_LENGTH:
        add(field, "too_long", f"is {len(value)} characters; the limit is {MAX_ID_LENGTH}")
        ok = False
    if not _ID.fullmatch(value):
        add(
            field,
            "invalid_characters",
            "may contain only Latin letters, digits and / - ? : ( ) . , ' +",
        )
        ok = False
    elif value.startswith("/") or value.endswith("/") or "//" in value:
        add(field, "invalid_slashes", "must not start or end with '/' or contain '//'")
        ok = False
    return ok


def _check_text(
    value: object,
    field: str,
    limit: int,
    charset: Charset,
    add: _Add,
    *,
    required: bool,
) -> None:
    try:
        text = _text(value, charset)
    except _Unwritable as error:
        add(field, error.code, error.reason)
        return
    if not text:
        if required:
            add(field, "required", "is required")
    elif len(text) > limit:
        add(field, "too_long", f"is {len(text)} characters; the limit is {limit}")


def _is_currency(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        return False
    try:
        exponent(value)
    except ValueError:
        return False
    return True


def _check_iban(value: object, field: str, add: _Add) -> None:
    if not isinstance(value, str) or not value.strip():
        add(field, "required", "is required")
        return
    try:
        IBAN(value)
    except (InvalidChecksumDigits, InvalidBBANChecksum):
        add(field, "invalid_checksum", "invalid checksum (a character is probably mistyped)")
    except InvalidCountryCode:
        add(field, "invalid_country", f"{value.strip()[:2]!r} is not an IBAN country code")
    except InvalidLength:
        add(field, "invalid_length", f"wrong length for an IBAN from {value.strip()[:2]}")
    except SchwiftyException:
        add(field, "invalid_format", f"not the format of an IBAN from {value.strip()[:2]}")


def _check_bic(value: object, field: str, version: Pain001Version, add: _Add) -> None:
    if value == "":
        return
    if not isinstance(value, str):
        add(field, "invalid_bic", "must be text")
        return
    try:
        bic = BIC(value).compact
    except SchwiftyException:
        add(field, "invalid_bic", "not a BIC (8 or 11 letters and digits)")
        return
    if not _BIC_PATTERNS[version].fullmatch(bic):
        add(field, "invalid_bic", f"{bic} is not a BIC that {version} accepts")


# -- rendering -----------------------------------------------------------------------------


def _require_valid(batch: PayoutBatch, version: Pain001Version, charset: Charset) -> None:
    problems = validate_batch(batch, version=version, charset=charset)
    if problems:
        raise InvalidPayoutBatch(problems)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text  # ElementTree escapes &, < and > (and quotes in attributes)
    return element


def _agent(parent: ET.Element, tag: str, bic: str, version: Pain001Version) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if bic:
        _sub(institution, "BICFI" if version == "pain.001.001.09" else "BIC", BIC(bic).compact)
    else:
        # The debtor agent is mandatory; without a BIC the bank knows itself from the IBAN.
        _sub(_sub(institution, "Othr"), "Id", "NOTPROVIDED")


def render_pain001(
    batch: PayoutBatch,
    *,
    version: Pain001Version = DEFAULT_VERSION,
    charset: Charset = "unicode",
    charge_bearer: ChargeBearer = "SLEV",
    service_level: str | None = None,
) -> bytes:
    """The batch as a UTF-8 ``pain.001`` XML document, or InvalidPayoutBatch.

    ``charset="latin"`` folds names and texts to the EPC Latin set for banks that refuse
    other characters, and refuses Arabic letters rather than guessing a transliteration.
    ``charge_bearer`` defaults to SLEV (the clearing scheme's rules); use DEBT when the
    bank would otherwise deduct its fee from the shopper's refund. ``service_level`` (for
    example ``SEPA`` or ``NURG``) is written only when the bank's guide asks for one.
    """
    if charge_bearer not in get_args(ChargeBearer):
        raise ValueError(f"charge_bearer must be one of {get_args(ChargeBearer)}")
    if service_level is not None and not re.fullmatch(r"[A-Z0-9]{1,4}", service_level):
        raise ValueError("service_level is an ISO external code of 1 to 4 letters or digits")
    _require_valid(batch, version, charset)

    total = batch_total(batch)
    count = str(len(batch.lines))
    control_sum = _decimal(total.minor, total.currency)

    def text(value: str) -> str:
        return _text(value, charset)

    document = ET.Element("Document", {"xmlns": f"urn:iso:std:iso:20022:tech:xsd:{version}"})
    initiation = _sub(document, "CstmrCdtTrfInitn")

    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", batch.message_id)
    _sub(header, "CreDtTm", batch.created_at.isoformat(timespec="seconds"))
    _sub(header, "NbOfTxs", count)
    _sub(header, "CtrlSum", control_sum)
    _sub(_sub(header, "InitgPty"), "Nm", text(batch.debtor_name))

    payment = _sub(initiation, "PmtInf")
    _sub(payment, "PmtInfId", batch.message_id)
    _sub(payment, "PmtMtd", "TRF")
    _sub(payment, "BtchBookg", "true" if batch.batch_booking else "false")
    _sub(payment, "NbOfTxs", count)
    _sub(payment, "CtrlSum", control_sum)
    if service_level:
        _sub(_sub(_sub(payment, "PmtTpInf"), "SvcLvl"), "Cd", service_level)
    if version == "pain.001.001.09":
        _sub(_sub(payment, "ReqdExctnDt"), "Dt", batch.requested_date.isoformat())
    else:
        _sub(payment, "ReqdExctnDt", batch.requested_date.isoformat())
    _sub(_sub(payment, "Dbtr"), "Nm", text(batch.debtor_name))
    _sub(_sub(_sub(payment, "DbtrAcct"), "Id"), "IBAN", IBAN(batch.debtor_iban).compact)
    _agent(payment, "DbtrAgt", batch.debtor_bic, version)
    _sub(payment, "ChrgBr", charge_bearer)

    for line in batch.lines:
        transfer = _sub(payment, "CdtTrfTxInf")
        _sub(_sub(transfer, "PmtId"), "EndToEndId", line.end_to_end_id)
        _sub(
            _sub(transfer, "Amt"),
            "InstdAmt",
            _decimal(line.amount_minor, line.currency),
            Ccy=line.currency,
        )
        if line.creditor_bic:
            _agent(transfer, "CdtrAgt", line.creditor_bic, version)
        _sub(_sub(transfer, "Cdtr"), "Nm", text(line.creditor_name))
        _sub(_sub(_sub(transfer, "CdtrAcct"), "Id"), "IBAN", IBAN(line.creditor_iban).compact)
        remittance = text(line.remittance)
        if remittance:
            _sub(_sub(transfer, "RmtInf"), "Ustrd", remittance)

    ET.indent(document, space="  ")
    body = ET.tostring(document, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def render_csv(batch: PayoutBatch) -> str:
    """The batch as CSV, one row per payment under a header row, or InvalidPayoutBatch.

    Starts with a UTF-8 byte-order mark so Excel opens Arabic names correctly; encode the
    string as UTF-8. Text cells that a spreadsheet would run as a formula are prefixed with
    ``'``. The IBANs are written in full because the merchant uploads this file to their
    bank: the file is as sensitive as the bank details in it, so serve it only to the
    merchant's staff and don't keep copies.
    """
    _require_valid(batch, DEFAULT_VERSION, "unicode")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for line in batch.lines:
        writer.writerow(
            [
                guard_cell(line.end_to_end_id),
                guard_cell(_text(line.creditor_name, "unicode")),
                IBAN(line.creditor_iban).compact,
                BIC(line.creditor_bic).compact if line.creditor_bic else "",
                _decimal(line.amount_minor, line.currency),
                line.currency,
                guard_cell(_text(line.remittance, "unicode")),
            ]
        )
    return "\ufeff" + buffer.getvalue()

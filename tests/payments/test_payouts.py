"""Payout files for cash-on-delivery refunds: pain.001 checked against ISO 20022's own XSD,
and the CSV read back with the csv module."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree  # type: ignore[import-untyped]  # no stubs; test-only dependency

from awda.payments.payouts import (
    CSV_COLUMNS,
    InvalidPayoutBatch,
    PayoutBatch,
    PayoutLine,
    batch_total,
    render_csv,
    render_pain001,
    validate_batch,
)

SCHEMAS = Path(__file__).resolve().parent.parent / "fixtures" / "iso20022"
RIYADH = timezone(timedelta(hours=3))

MERCHANT_IBAN = "SA0380000000608010167519"
SA_IBAN_1 = "SA9810000020123456789012"
SA_IBAN_2 = "SA5545000000123456789999"
KW_IBAN = "KW74NBOK0000000000001000372151"
KW_MERCHANT_IBAN = "KW81CBKU0000000000001234560101"


@cache
def schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"{version}.xsd")))


def parse_valid(xml: bytes, version: str = "pain.001.001.09") -> etree._Element:
    """The document's root, after asserting the official schema accepts it."""
    root = etree.fromstring(xml)
    xsd = schema(version)
    assert xsd.validate(root), str(xsd.error_log)
    return root


def ns(version: str = "pain.001.001.09") -> dict[str, str]:
    return {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}


def texts(root: etree._Element, path: str, version: str = "pain.001.001.09") -> list[str]:
    return [el.text for el in root.iterfind(path, ns(version))]


def line(n: int = 1, **changes: object) -> PayoutLine:
    base = PayoutLine(
        end_to_end_id=f"R-7KQ2-M9-{n}",
        amount_minor=24050,
        currency="SAR",
        creditor_name="محمد عبدالله",
        creditor_iban=SA_IBAN_1,
        remittance="Refund R-7KQ2-M9 order 1005",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def batch(*lines: PayoutLine, **changes: object) -> PayoutBatch:
    base = PayoutBatch(
        message_id="AWDA-20250301-0001",
        created_at=datetime(2025, 3, 1, 10, 30, tzinfo=RIYADH),
        debtor_name="متجر الورد",
        debtor_iban=MERCHANT_IBAN,
        requested_date=date(2025, 3, 2),
        lines=list(lines) or [line()],
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def problem_fields(b: PayoutBatch, **options: str) -> dict[str, str]:
    return {p.field: p.code for p in validate_batch(b, **options)}  # type: ignore[arg-type]


# -- the XML validates against the published schema ----------------------------------------


def test_a_sar_batch_with_arabic_and_latin_names_validates_against_pain_001_001_09() -> None:
    b = batch(
        line(1, creditor_name="محمد عبدالله", amount_minor=24050),
        line(2, creditor_name="Sarah Al-Harbi", creditor_iban=SA_IBAN_2, amount_minor=9900),
    )

    root = parse_valid(render_pain001(b))

    assert texts(root, ".//p:GrpHdr/p:NbOfTxs") == ["2"]
    assert texts(root, ".//p:GrpHdr/p:CtrlSum") == ["339.50"]
    assert texts(root, ".//p:PmtInf/p:CtrlSum") == ["339.50"]
    assert texts(root, ".//p:InstdAmt") == ["240.50", "99.00"]
    assert [el.get("Ccy") for el in root.iterfind(".//p:InstdAmt", ns())] == ["SAR", "SAR"]
    assert texts(root, ".//p:Cdtr/p:Nm") == ["محمد عبدالله", "Sarah Al-Harbi"]
    assert texts(root, ".//p:CdtrAcct/p:Id/p:IBAN") == [SA_IBAN_1, SA_IBAN_2]
    assert texts(root, ".//p:ReqdExctnDt/p:Dt") == ["2025-03-02"]
    assert texts(root, ".//p:PmtMtd") == ["TRF"]


def test_a_kwd_batch_writes_amounts_with_three_decimals_and_validates() -> None:
    b = batch(
        line(1, currency="KWD", amount_minor=12345, creditor_iban=KW_IBAN),
        line(2, currency="KWD", amount_minor=5, creditor_iban=KW_IBAN, creditor_name="Ali"),
        debtor_iban=KW_MERCHANT_IBAN,
    )

    root = parse_valid(render_pain001(b))

    assert texts(root, ".//p:InstdAmt") == ["12.345", "0.005"]
    assert texts(root, ".//p:GrpHdr/p:CtrlSum") == ["12.350"]


def test_the_same_batch_validates_against_pain_001_001_03_for_banks_still_on_it() -> None:
    b = batch(line(1, creditor_bic="NCBKSAJE"), debtor_bic="RJHISARI")

    root = parse_valid(render_pain001(b, version="pain.001.001.03"), "pain.001.001.03")

    v3 = "pain.001.001.03"
    assert texts(root, ".//p:PmtInf/p:ReqdExctnDt", v3) == ["2025-03-02"]
    assert texts(root, ".//p:DbtrAgt/p:FinInstnId/p:BIC", v3) == ["RJHISARI"]
    assert texts(root, ".//p:CdtrAgt/p:FinInstnId/p:BIC", v3) == ["NCBKSAJE"]


def test_markup_characters_in_names_and_remittance_are_escaped_and_read_back_unchanged() -> None:
    name = 'O\'Brien "Trading" & <Sons>'
    remittance = "Refund <R-1> & 'extra' \"note\""
    b = batch(line(1, creditor_name=name, remittance=remittance), debtor_name="Ward & Co <KSA>")

    xml = render_pain001(b)

    root = parse_valid(xml)
    assert texts(root, ".//p:Cdtr/p:Nm") == [name]
    assert texts(root, ".//p:RmtInf/p:Ustrd") == [remittance]
    assert texts(root, ".//p:Dbtr/p:Nm") == ["Ward & Co <KSA>"]
    assert b"<Sons>" not in xml


def test_arabic_names_survive_unicode_mode_as_utf8() -> None:
    name = "عبدالرحمن بن خالد الشمري"

    xml = render_pain001(batch(line(1, creditor_name=name)))

    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert name.encode("utf-8") in xml
    assert texts(parse_valid(xml), ".//p:Cdtr/p:Nm") == [name]


def test_invisible_direction_marks_and_extra_spaces_are_removed_from_names() -> None:
    xml = render_pain001(batch(line(1, creditor_name="\u200f  محمد\u200e   عبدالله \u2066")))

    assert texts(parse_valid(xml), ".//p:Cdtr/p:Nm") == ["محمد عبدالله"]


def test_the_debtor_agent_is_not_provided_when_the_merchant_gave_no_bic() -> None:
    root = parse_valid(render_pain001(batch()))

    assert texts(root, ".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == ["NOTPROVIDED"]
    assert texts(root, ".//p:DbtrAgt/p:FinInstnId/p:BICFI") == []


def test_a_creditor_agent_is_written_only_for_lines_whose_bic_is_known() -> None:
    b = batch(line(1, creditor_bic="ncbksaje"), line(2))

    root = parse_valid(render_pain001(b, charge_bearer="DEBT", service_level="NURG"))

    transactions = root.findall(".//p:CdtTrfTxInf", ns())
    assert [t.findtext("p:CdtrAgt/p:FinInstnId/p:BICFI", None, ns()) for t in transactions] == [
        "NCBKSAJE",
        None,
    ]
    assert texts(root, ".//p:PmtInf/p:ChrgBr") == ["DEBT"]
    assert texts(root, ".//p:PmtTpInf/p:SvcLvl/p:Cd") == ["NURG"]


def test_batch_booking_can_ask_for_one_debit_per_refund() -> None:
    root = parse_valid(render_pain001(batch(batch_booking=False)))

    assert texts(root, ".//p:BtchBookg") == ["false"]


# -- the control sum is exact --------------------------------------------------------------

CURRENCY_IBANS = {
    "SAR": SA_IBAN_1,
    "KWD": KW_IBAN,
    "BHD": "BH50NBOB00001299123456",
    "JPY": SA_IBAN_2,
}
EXPONENTS = {"SAR": 2, "KWD": 3, "BHD": 3, "JPY": 0}


@settings(max_examples=75, deadline=None)
@given(
    currency=st.sampled_from(sorted(CURRENCY_IBANS)),
    amounts=st.lists(st.integers(min_value=1, max_value=10**13), min_size=1, max_size=25),
)
def test_control_sum_and_count_equal_the_lines_exactly_for_any_amounts(
    currency: str, amounts: list[int]
) -> None:
    lines = [
        line(i, amount_minor=a, currency=currency, creditor_iban=CURRENCY_IBANS[currency])
        for i, a in enumerate(amounts)
    ]
    b = batch(*lines)

    root = parse_valid(render_pain001(b))

    scale = Decimal(10) ** EXPONENTS[currency]
    for control_sum in texts(root, ".//p:CtrlSum"):
        assert Decimal(control_sum) * scale == sum(amounts)
        assert len(control_sum.partition(".")[2]) == EXPONENTS[currency]
    assert texts(root, ".//p:GrpHdr/p:NbOfTxs") == [str(len(amounts))]
    assert texts(root, ".//p:PmtInf/p:NbOfTxs") == [str(len(amounts))]
    assert [Decimal(a) * scale for a in texts(root, ".//p:InstdAmt")] == amounts
    assert batch_total(b).minor == sum(amounts)


# -- problems name the field ---------------------------------------------------------------


def test_a_mistyped_iban_is_reported_against_its_line_and_field() -> None:
    mistyped = SA_IBAN_2[:-1] + "8"
    problems = validate_batch(batch(line(1), line(2, creditor_iban=mistyped)))

    assert [str(p) for p in problems] == [
        "lines.1.creditor_iban: invalid checksum (a character is probably mistyped)"
    ]
    assert problems[0].code == "invalid_checksum"


def test_an_iban_too_short_for_its_country_is_refused() -> None:
    assert problem_fields(batch(line(1, creditor_iban=SA_IBAN_1[:-2]))) == {
        "lines.0.creditor_iban": "invalid_length"
    }


def test_an_iban_with_an_unknown_country_is_refused() -> None:
    assert problem_fields(batch(debtor_iban="XX" + MERCHANT_IBAN[2:])) == {
        "debtor_iban": "invalid_country"
    }


def test_a_batch_mixing_currencies_is_refused_line_by_line() -> None:
    b = batch(line(1), line(2, currency="KWD", creditor_iban=KW_IBAN), line(3))

    assert problem_fields(b) == {"lines.1.currency": "mixed_currency"}


def test_an_unknown_currency_is_refused() -> None:
    assert problem_fields(batch(line(1, currency="XYZ"))) == {
        "lines.0.currency": "unknown_currency"
    }


@pytest.mark.parametrize("amount", [0, -100])
def test_a_zero_or_negative_amount_is_refused(amount: int) -> None:
    assert problem_fields(batch(line(1, amount_minor=amount))) == {
        "lines.0.amount_minor": "not_positive"
    }


def test_an_amount_that_is_not_integer_minor_units_is_refused() -> None:
    b = batch(line(1, amount_minor=Decimal("240.50")))

    assert problem_fields(b) == {"lines.0.amount_minor": "not_minor_units"}


def test_a_duplicate_end_to_end_id_is_refused_on_the_later_line() -> None:
    b = batch(line(1), line(2), line(3, end_to_end_id="r-7kq2-m9-1"))

    problems = validate_batch(b)

    assert [(p.field, p.code) for p in problems] == [("lines.2.end_to_end_id", "duplicate_id")]
    assert "lines.0" in problems[0].reason


def test_an_end_to_end_id_longer_than_35_characters_is_refused() -> None:
    assert problem_fields(batch(line(1, end_to_end_id="R-" + "7" * 34))) == {
        "lines.0.end_to_end_id": "too_long"
    }


def test_ids_keep_to_latin_letters_digits_and_a_little_punctuation() -> None:
    b = batch(line(1, end_to_end_id="R 1"), line(2, end_to_end_id="/R-2"), message_id="رسالة")

    assert problem_fields(b) == {
        "message_id": "invalid_characters",
        "lines.0.end_to_end_id": "invalid_characters",
        "lines.1.end_to_end_id": "invalid_slashes",
    }


def test_a_message_id_longer_than_35_characters_is_refused() -> None:
    assert problem_fields(batch(message_id="M" * 36)) == {"message_id": "too_long"}


def test_a_name_longer_than_the_schemas_140_characters_is_refused() -> None:
    assert problem_fields(batch(line(1, creditor_name="أ" * 141))) == {
        "lines.0.creditor_name": "too_long"
    }
    assert validate_batch(batch(line(1, creditor_name="أ" * 140))) == []


def test_a_remittance_longer_than_140_characters_is_refused() -> None:
    assert problem_fields(batch(line(1, remittance="x" * 141))) == {
        "lines.0.remittance": "too_long"
    }


def test_missing_debtor_fields_are_each_reported() -> None:
    b = batch(debtor_name="  ", debtor_iban="", message_id="")

    assert problem_fields(b) == {
        "message_id": "required",
        "debtor_name": "required",
        "debtor_iban": "required",
    }


def test_a_missing_creditor_name_is_refused() -> None:
    assert problem_fields(batch(line(1, creditor_name="\u200f "))) == {
        "lines.0.creditor_name": "required"
    }


def test_a_malformed_bic_is_refused() -> None:
    assert problem_fields(batch(line(1, creditor_bic="NCBKSA"), debtor_bic="NCBKXXJE")) == {
        "debtor_bic": "invalid_bic",
        "lines.0.creditor_bic": "invalid_bic",
    }


def test_a_bic_with_digits_in_the_bank_code_is_refused_only_by_the_2009_schema() -> None:
    b = batch(line(1, creditor_bic="1BNKSARI"))

    assert validate_batch(b) == []
    assert problem_fields(b, version="pain.001.001.03") == {"lines.0.creditor_bic": "invalid_bic"}


def test_a_batch_without_lines_is_refused() -> None:
    assert problem_fields(replace(batch(), lines=[])) == {"lines": "no_lines"}


def test_a_creation_time_without_a_timezone_is_refused() -> None:
    b = batch(created_at=datetime(2025, 3, 1, 10, 30))

    assert problem_fields(b) == {"created_at": "naive_datetime"}


def test_an_execution_date_before_the_file_is_created_is_refused() -> None:
    assert problem_fields(batch(requested_date=date(2025, 2, 28))) == {
        "requested_date": "date_in_past"
    }


def test_control_characters_in_a_name_are_refused_not_written() -> None:
    assert problem_fields(batch(line(1, creditor_name="Ali\x00\x07"))) == {
        "lines.0.creditor_name": "control_character"
    }


def test_rendering_an_invalid_batch_raises_with_every_problem() -> None:
    b = batch(line(1, amount_minor=0), line(2, creditor_iban="SA00"))

    with pytest.raises(InvalidPayoutBatch) as raised:
        render_pain001(b)

    assert {p.field for p in raised.value.problems} == {
        "lines.0.amount_minor",
        "lines.1.creditor_iban",
    }
    with pytest.raises(InvalidPayoutBatch):
        render_csv(b)


def test_an_unsupported_version_or_charset_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="version"):
        render_pain001(batch(), version="pain.001.001.12")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="charset"):
        validate_batch(batch(), charset="ascii")  # type: ignore[arg-type]


# -- the Latin character set ---------------------------------------------------------------


def test_latin_mode_refuses_arabic_names_rather_than_guessing_a_spelling() -> None:
    b = batch(line(1, creditor_name="محمد عبدالله"), debtor_name="Ward Store")

    problems = validate_batch(b, charset="latin")

    assert [(p.field, p.code) for p in problems] == [("lines.0.creditor_name", "not_latin")]
    assert "Arabic" in problems[0].reason
    with pytest.raises(InvalidPayoutBatch):
        render_pain001(b, charset="latin")


def test_latin_mode_folds_accents_and_punctuation_into_the_epc_latin_set() -> None:
    b = batch(
        line(1, creditor_name="Zoë Müller-Łukasz & Søn", remittance="Refund «R-1» order #١٠٠٥"),
        debtor_name="Café Ward",
    )

    root = parse_valid(render_pain001(b, charset="latin"))

    assert texts(root, ".//p:Cdtr/p:Nm") == ["Zoe Muller-Lukasz + Son"]
    assert texts(root, ".//p:RmtInf/p:Ustrd") == ["Refund 'R-1' order 1005"]
    assert texts(root, ".//p:Dbtr/p:Nm") == ["Cafe Ward"]
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
    for el in root.iter():
        assert set(el.text.strip() if el.text else "") <= allowed


# -- the CSV -------------------------------------------------------------------------------


def read_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_csv_round_trips_through_the_csv_module_with_decimals_at_the_currency_exponent() -> (
    None
):
    sar = batch(line(1, amount_minor=24050, creditor_bic="NCBKSAJE"), line(2, amount_minor=7))
    kwd = batch(
        line(1, currency="KWD", amount_minor=1500, creditor_iban=KW_IBAN),
        debtor_iban=KW_MERCHANT_IBAN,
    )

    sar_rows = read_csv(render_csv(sar))
    kwd_rows = read_csv(render_csv(kwd))

    assert list(sar_rows[0]) == list(CSV_COLUMNS)
    assert sar_rows == [
        {
            "end_to_end_id": "R-7KQ2-M9-1",
            "creditor_name": "محمد عبدالله",
            "iban": SA_IBAN_1,
            "bic": "NCBKSAJE",
            "amount": "240.50",
            "currency": "SAR",
            "remittance": "Refund R-7KQ2-M9 order 1005",
        },
        {
            "end_to_end_id": "R-7KQ2-M9-2",
            "creditor_name": "محمد عبدالله",
            "iban": SA_IBAN_1,
            "bic": "",
            "amount": "0.07",
            "currency": "SAR",
            "remittance": "Refund R-7KQ2-M9 order 1005",
        },
    ]
    assert [r["amount"] for r in kwd_rows] == ["1.500"]


def test_the_csv_keeps_commas_quotes_and_newlines_inside_their_cells() -> None:
    rows = read_csv(render_csv(batch(line(1, creditor_name='Ali, "Abu Omar"\nAl-Saud'))))

    assert rows[0]["creditor_name"] == 'Ali, "Abu Omar" Al-Saud'


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_cells_that_would_start_a_spreadsheet_formula_are_prefixed_with_a_quote(
    start: str,
) -> None:
    name = f'{start}HYPERLINK("http://evil.example","click")'
    b = batch(line(1, creditor_name=name, remittance=f"{start}1+1"))

    row = read_csv(render_csv(b))[0]

    assert row["creditor_name"] == "'" + name
    assert row["remittance"] == f"'{start}1+1"


def test_a_formula_hidden_behind_a_direction_mark_is_still_neutralised() -> None:
    row = read_csv(render_csv(batch(line(1, creditor_name="\u200f=1+1"))))[0]

    assert row["creditor_name"] == "'=1+1"


def test_the_csv_is_utf8_with_a_bom_so_excel_reads_arabic() -> None:
    data = render_csv(batch()).encode("utf-8")

    assert data.startswith(b"\xef\xbb\xbf")
    assert "محمد عبدالله".encode() in data


def test_a_creation_time_in_utc_is_written_with_its_offset() -> None:
    b = batch(created_at=datetime(2025, 3, 1, 7, 30, tzinfo=UTC))

    root = parse_valid(render_pain001(b))

    assert texts(root, ".//p:CreDtTm") == ["2025-03-01T07:30:00+00:00"]

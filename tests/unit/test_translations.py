"""Every Arabic message catalogue under src/awda is complete, safe to format, and served.

A missing or fuzzy translation silently falls back to English; a renamed or dropped
placeholder makes ``_("...") % {...}`` raise at run time. These tests catch both before a
shopper or merchant does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.utils import translation

import awda

SOURCE_DIR = Path(awda.__file__).parent
PO_FILES = sorted(SOURCE_DIR.glob("**/locale/ar/LC_MESSAGES/django.po"))
ARABIC_PLURAL_FORMS = (
    "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 "
    ": n%100>=11 ? 4 : 5;"
)

# A named printf-style placeholder with its conversion: %(limit)s, %(seconds).1f, %(n)d ...
PLACEHOLDER = re.compile(r"%\(\w+\)[#0 +-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]")
ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")


def _name(po: Path) -> str:
    return str(po.relative_to(SOURCE_DIR))


def _catalog(po: Path) -> Catalog:
    with po.open("rb") as f:
        return read_po(f)


def _messages(po: Path) -> list[Message]:
    return [m for m in _catalog(po) if m.id]


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, list | tuple) else (message.id,)


def _forms(message: Message) -> tuple[str, ...]:
    string = message.string
    return tuple(string) if isinstance(string, list | tuple) else (string,)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _report(problems: list[str]) -> str:
    return f"{len(problems)} message(s):\n  " + "\n  ".join(problems)


catalogues = pytest.mark.parametrize("po", PO_FILES, ids=_name)


def test_the_main_and_policies_catalogues_are_found() -> None:
    names = {_name(po) for po in PO_FILES}
    assert "locale/ar/LC_MESSAGES/django.po" in names, names
    assert "policies/locale/ar/LC_MESSAGES/django.po" in names, names


@catalogues
def test_catalogue_header_declares_arabic_and_its_six_plural_forms(po: Path) -> None:
    catalog = _catalog(po)
    assert str(catalog.locale) == "ar"
    assert catalog.charset.lower() == "utf-8"
    assert catalog.num_plurals == 6
    assert catalog.plural_forms == ARABIC_PLURAL_FORMS


@catalogues
def test_every_message_has_an_arabic_translation(po: Path) -> None:
    nplurals = _catalog(po).num_plurals
    problems = []
    for m in _messages(po):
        forms = _forms(m)
        if m.pluralizable and len(forms) != nplurals:
            problems.append(f"{_ids(m)[0]!r}: {len(forms)} plural forms, expected {nplurals}")
        empty = [i for i, form in enumerate(forms) if not form.strip()]
        if empty:
            where = f" (msgstr{empty})" if m.pluralizable else ""
            problems.append(f"{_ids(m)[0]!r}{where}")
    assert not problems, f"untranslated in {_name(po)}: " + _report(problems)


@catalogues
def test_no_message_is_fuzzy(po: Path) -> None:
    # Django ignores fuzzy entries at run time, so they would be served in English.
    catalog = _catalog(po)
    assert not catalog.fuzzy, f"the header of {_name(po)} is marked fuzzy"
    problems = [repr(_ids(m)[0]) for m in _messages(po) if m.fuzzy]
    assert not problems, f"fuzzy in {_name(po)}: " + _report(problems)


@catalogues
def test_translations_keep_the_python_format_placeholders_of_their_msgid(po: Path) -> None:
    # Singular: exactly the same placeholders. Plural: a form may leave out a placeholder
    # (Arabic says "one item" without the number) but must not invent one, and the forms
    # together must use every placeholder of the source.
    problems = []
    for m in _messages(po):
        expected = set().union(*(_placeholders(i) for i in _ids(m)))
        found = [_placeholders(form) for form in _forms(m)]
        if m.pluralizable:
            ok = all(f <= expected for f in found) and set().union(*found) == expected
        else:
            ok = found[0] == expected
        if not ok:
            problems.append(f"{_ids(m)[0]!r}: expected {sorted(expected)}, got {found}")
    assert not problems, f"placeholders differ in {_name(po)}: " + _report(problems)


@catalogues
def test_every_translation_is_written_in_arabic(po: Path) -> None:
    problems = []
    for m in _messages(po):
        source = " ".join(PLACEHOLDER.sub("", i) for i in _ids(m))
        if not any(ch.isalpha() for ch in source):
            continue
        for i, form in enumerate(_forms(m)):
            if form.strip() and not ARABIC_LETTER.search(PLACEHOLDER.sub("", form)):
                where = f" (msgstr[{i}])" if m.pluralizable else ""
                problems.append(f"{_ids(m)[0]!r}{where}: {form!r}")
    assert not problems, f"no Arabic letter in {_name(po)}: " + _report(problems)


@catalogues
def test_compiled_catalogue_matches_its_po_file(po: Path) -> None:
    # Django reads the .mo, so an edit to the .po only counts once scripts/messages has run.
    # (Empty translations are left out of a .mo; the test above reports those.)
    def pairs(catalog: Catalog) -> set[tuple[object, object]]:
        def frozen(value: object) -> object:
            return tuple(value) if isinstance(value, list | tuple) else value

        return {(frozen(m.id), frozen(m.string)) for m in catalog if m.id and m.string}

    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{_name(po)} is not compiled: run scripts/messages"
    with mo.open("rb") as f:
        compiled = read_mo(f)
    stale = sorted(repr(i) for i, _ in pairs(_catalog(po)) ^ pairs(compiled))
    assert not stale, f"{_name(mo)} is out of date (run scripts/messages): " + _report(stale)


@pytest.mark.parametrize(
    "msgid",
    [
        "This field is required.",
        "The return window for this item has closed.",
        "Store credit",
        "Courier pickup",
    ],
)
def test_django_serves_the_arabic_translation(msgid: str) -> None:
    with translation.override("ar"):
        served = translation.gettext(msgid)
    assert served != msgid
    assert ARABIC_LETTER.search(served), served


def test_django_serves_english_when_english_is_asked_for() -> None:
    with translation.override("en"):
        assert translation.gettext("This field is required.") == "This field is required."

"""CSV cells a spreadsheet opens safely: text that Excel or LibreOffice would run as a formula
(CSV injection) gets a leading quote; plain numbers are left as they are. Imports of Awda's
own files take the quote off again."""

from __future__ import annotations

import re

# The full-width forms count too in East Asian builds of Excel.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def guard_cell(value: str) -> str:
    """``value`` with a leading quote when a spreadsheet would read it as a formula."""
    if value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def unguard_cell(value: str) -> str:
    """A cell as it was before ``guard_cell`` quoted it."""
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value

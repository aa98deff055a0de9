"""JSON bodies, with NUL characters refused before they reach the database."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import ValidationError
from ninja.parser import Parser


def _nul_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            if "\x00" in str(key):
                found.append((*path, str(key).replace("\x00", "")))
            found.extend(_nul_paths(item, (*path, key)))
        return found
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _nul_paths(item, (*path, i))]
    return []


class AwdaParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        try:
            data = json.loads(request.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValidationError(
                [
                    {
                        "loc": ("body",),
                        "msg": _("The body is not valid JSON."),
                        "type": "json_invalid",
                    }
                ]
            ) from None
        bad = _nul_paths(data)
        if bad:
            # PostgreSQL can't store NUL in text, and no real input contains it.
            raise ValidationError(
                [
                    {
                        "loc": ("body", "payload", *p),
                        "msg": "NUL character",
                        "type": "nul_character",
                    }
                    for p in bad
                ]
            )
        return data

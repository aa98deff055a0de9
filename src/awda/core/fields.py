"""Model fields shared by the domain apps."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression
from django.db.models.lookups import IsNull

from awda.core import crypto


class EncryptedTextField(models.TextField):
    """Text encrypted at rest (``awda.core.crypto``): the column holds only the token and
    Python code sees the plaintext.

    The token differs on every save, so the column can't be searched, indexed or compared:
    only ``isnull`` lookups are allowed. An empty string is stored as is (it says no more
    than NULL would), so a blank value needs no key to read.
    """

    description = "Text encrypted at rest"

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> str | None:
        if not value:
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        # Any other lookup would compare a fresh token with the stored one: never equal.
        return IsNull if lookup_name == "isnull" else None

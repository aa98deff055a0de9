"""An encrypted column on a real database (SQLite and PostgreSQL) holds no plaintext."""

from __future__ import annotations

import pytest
from django.db import connection

from awda.core import crypto
from awda.core.fields import EncryptedTextField

pytestmark = pytest.mark.django_db

IBAN = "SA0380000000608010167519"


def test_the_column_holds_only_the_token_and_the_field_reads_it_back(settings):
    settings.AWDA_ENCRYPTION_KEYS = [crypto.generate_key()]
    field = EncryptedTextField()
    with connection.cursor() as cursor:
        # A temporary table: no model uses the field yet, and it vanishes with the test.
        cursor.execute("CREATE TEMPORARY TABLE encrypted_probe (id integer, secret text)")
        cursor.execute(
            "INSERT INTO encrypted_probe (id, secret) VALUES (1, %s)",
            [field.get_db_prep_save(IBAN, connection)],
        )
        cursor.execute("SELECT secret FROM encrypted_probe WHERE id = 1")
        (raw,) = cursor.fetchone()
        cursor.execute("DROP TABLE encrypted_probe")

    assert IBAN not in raw
    assert IBAN[-4:] not in raw
    assert field.from_db_value(raw, None, connection) == IBAN

"""Encryption at rest: values round-trip, keys rotate, tampering is caught, and the model
field keeps only tokens on the database side."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from awda.core import crypto
from awda.core.fields import EncryptedTextField

IBAN = "SA0380000000608010167519"


@pytest.fixture
def keys(settings):
    """Set AWDA_ENCRYPTION_KEYS for the test."""

    def use(*values):
        settings.AWDA_ENCRYPTION_KEYS = list(values)

    use()
    return use


def test_a_value_round_trips_and_its_token_hides_it(keys):
    token = crypto.encrypt(IBAN)
    assert IBAN not in token
    assert token.isascii()
    assert crypto.decrypt(token) == IBAN


def test_the_same_value_encrypts_differently_each_time(keys):
    assert crypto.encrypt(IBAN) != crypto.encrypt(IBAN)


def test_without_configured_keys_the_key_is_derived_from_the_secret_key(keys, settings):
    token = crypto.encrypt(IBAN)
    assert crypto.decrypt(token) == IBAN
    # Which is why production sets explicit keys: a new secret key can't read old values.
    settings.SECRET_KEY = "another secret key, after a rotation"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_after_rotation_old_tokens_still_decrypt_and_new_ones_use_the_new_key(keys):
    old, new = crypto.generate_key(), crypto.generate_key()
    keys(old)
    old_token = crypto.encrypt(IBAN)

    keys(new, old)
    new_token = crypto.encrypt(IBAN)
    assert crypto.decrypt(old_token) == IBAN
    assert crypto.decrypt(new_token) == IBAN
    rotated = crypto.rotate(old_token)

    keys(new)  # the old key retired once everything was rotated
    assert crypto.decrypt(new_token) == IBAN
    assert crypto.decrypt(rotated) == IBAN
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(old_token)
    keys(old)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(new_token)


def test_keys_may_be_given_as_one_comma_separated_string(settings):
    first, second = crypto.generate_key(), crypto.generate_key()
    settings.AWDA_ENCRYPTION_KEYS = second
    token = crypto.encrypt(IBAN)
    settings.AWDA_ENCRYPTION_KEYS = f"{first}, {second}"
    assert crypto.decrypt(token) == IBAN


def test_a_tampered_token_is_refused_with_a_message_that_reveals_nothing(keys):
    token = crypto.encrypt(IBAN)
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

    with pytest.raises(crypto.DecryptionError) as caught:
        crypto.decrypt(tampered)

    message = str(caught.value)
    assert "could not be decrypted" in message
    assert tampered not in message
    assert IBAN not in message


def test_a_malformed_key_is_a_configuration_error_that_does_not_print_the_key(keys):
    keys(crypto.generate_key(), "not-a-fernet-key")
    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key") as caught:
        crypto.encrypt(IBAN)
    assert "not-a-fernet-key" not in str(caught.value)


# -- the model field ------------------------------------------------------------------------


def test_the_field_writes_a_token_and_reads_the_plaintext(keys):
    field = EncryptedTextField()
    stored = field.get_prep_value(IBAN)
    assert stored != IBAN
    assert IBAN not in stored
    assert field.from_db_value(stored, None, None) == IBAN


@pytest.mark.parametrize("value", [None, ""])
def test_null_and_empty_are_stored_as_they_are(value):
    field = EncryptedTextField(null=True, blank=True)
    assert field.get_prep_value(value) == value
    assert field.from_db_value(value, None, None) == value


def test_the_field_deconstructs_without_keys_so_migrations_stay_stable():
    _name, path, args, kwargs = EncryptedTextField(null=True).deconstruct()
    assert path == "awda.core.fields.EncryptedTextField"
    assert (args, kwargs) == ([], {"null": True})


def test_only_isnull_lookups_are_offered_as_tokens_never_compare_equal():
    field = EncryptedTextField()
    assert field.get_lookup("isnull") is not None
    for lookup in ("exact", "iexact", "contains", "startswith", "in"):
        assert field.get_lookup(lookup) is None

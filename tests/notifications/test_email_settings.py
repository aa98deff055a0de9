"""The mail server is one URL (AWDA_SMTP_URL); without it mails are files a demo user can read."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from awda.settings import DATA_DIR, _email_settings

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def test_starttls_on_the_submission_port_with_a_percent_encoded_password():
    assert _email_settings("smtp://apikey:p%40ss%3Aword@mail.example.com:587?tls=1") == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "apikey",
        "EMAIL_HOST_PASSWORD": "p@ss:word",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10.0,
    }


def test_smtps_is_tls_from_the_first_byte_on_port_465_by_default():
    config = _email_settings("smtps://user:secret@mail.example.com?timeout=30")
    assert config["EMAIL_PORT"] == 465
    assert config["EMAIL_USE_SSL"] is True and config["EMAIL_USE_TLS"] is False
    assert config["EMAIL_TIMEOUT"] == 30.0


def test_a_local_relay_without_login_or_tls_uses_port_25():
    config = _email_settings("smtp://localhost")
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"]) == ("localhost", 25)
    assert config["EMAIL_HOST_USER"] == config["EMAIL_HOST_PASSWORD"] == ""
    assert config["EMAIL_USE_TLS"] is config["EMAIL_USE_SSL"] is False


def test_without_a_url_mails_are_written_as_files_under_the_data_dir():
    assert _email_settings("") == {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": DATA_DIR / "mail",
    }


def test_the_mail_folder_holds_readable_mails(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    mail.send_mail("Your return", "مرحبًا", "returns@localhost", ["shopper@example.com"])
    (written,) = (tmp_path / "mail").iterdir()
    assert "Subject: Your return" in written.read_text()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://mail.example.com", "smtp://"),
        ("smtp://", "smtp://"),
        ("smtps://mail.example.com?tls=1", "smtps:// is TLS already"),
        ("smtp://mail.example.com?tsl=1", "unknown option"),
        ("smtp://mail.example.com?tls=maybe", "tls must be"),
        ("smtp://mail.example.com:port", "AWDA_SMTP_URL"),
        ("smtp://mail.example.com?timeout=soon", "AWDA_SMTP_URL"),
    ],
)
def test_a_malformed_url_stops_the_start_with_the_reason(url, reason):
    with pytest.raises(ImproperlyConfigured, match=reason):
        _email_settings(url)

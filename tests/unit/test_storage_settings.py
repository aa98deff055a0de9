"""Where uploaded files go is configuration only: the data dir by default, any Django
storage backend (S3-compatible object storage) through two environment variables."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from awda.settings import DATA_DIR, _storages


def test_by_default_files_go_to_the_media_dir_under_the_data_dir(monkeypatch):
    monkeypatch.delenv("AWDA_STORAGE_BACKEND", raising=False)
    assert _storages()["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert settings.MEDIA_ROOT == DATA_DIR / "media"


def test_object_storage_is_chosen_by_environment_variables(monkeypatch):
    monkeypatch.setenv("AWDA_STORAGE_BACKEND", "storages.backends.s3.S3Storage")
    monkeypatch.setenv(
        "AWDA_STORAGE_OPTIONS", '{"bucket_name": "awda", "endpoint_url": "https://s3.example"}'
    )
    assert _storages()["default"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "awda", "endpoint_url": "https://s3.example"},
    }


@pytest.mark.parametrize("raw", ["{bucket", '["awda"]'])
def test_storage_options_that_are_not_a_json_object_stop_the_start(monkeypatch, raw):
    monkeypatch.setenv("AWDA_STORAGE_BACKEND", "storages.backends.s3.S3Storage")
    monkeypatch.setenv("AWDA_STORAGE_OPTIONS", raw)
    with pytest.raises(ImproperlyConfigured, match="AWDA_STORAGE_OPTIONS"):
        _storages()

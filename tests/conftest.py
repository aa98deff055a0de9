"""Shared fixtures. The database engine comes from AWDA_DATABASE_URL (scripts/test runs the
suite once on SQLite and once on PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from tests import factories

# No timed assertions (HOUSE-STYLE): hypothesis's per-example deadline failed a property test
# on a machine busy with other work; speed is measured in bench/, not here. No example
# database either: a stateful test replaying an example saved by older code reported
# "inconsistent data generation"; every run (CI's included) starts clean.
hypothesis_settings.register_profile("awda", deadline=None, database=None)
hypothesis_settings.load_profile("awda")


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Deselect (not skip) what only makes sense on the other engine, so a run reports no
    # skipped tests: each engine's run covers its own part and scripts/test runs both.
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    pg = engine.endswith("postgresql")
    keep, drop = [], []
    for item in items:
        if item.get_closest_marker("postgres_only") and not pg:
            drop.append(item)
        elif item.get_closest_marker("embedded_only") and pg:
            # Runs the default install (its own SQLite files); once per suite is enough.
            drop.append(item)
        elif item.get_closest_marker("browser") and pg:
            # Chromium through the pages: what they show does not depend on the engine.
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _fresh_local_caches() -> Iterator[None]:
    # Rolled-back tests hand ids out again (SQLite): no cache entry may outlive its test.
    from awda.core.cache import clear_all

    clear_all()
    yield
    clear_all()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    # A request activates its page's language for the thread (LocaleMiddleware), and the
    # test client runs in the test's thread: the next test starts in the default again.
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def merchant(db: None) -> factories.Merchant:
    return factories.merchant()


@pytest.fixture
def api_key(merchant: factories.Merchant) -> str:
    return factories.api_key(merchant)


@pytest.fixture
def api(api_key: str) -> Iterator[factories.ApiClient]:
    yield factories.ApiClient(api_key)


@pytest.fixture
def ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"

"""Per-process caches: a change is seen at once where it was made and within the cache's
time everywhere else (simulated here by writing around the services, as another process
would, and moving the monotonic clock)."""

from __future__ import annotations

import pytest

from awda.core import cache
from awda.merchants.models import ApiKey
from awda.merchants.services import authenticate_api_key, issue_api_key, revoke_api_key
from awda.policies.document import default_policy
from awda.policies.models import ReturnPolicy
from awda.policies.selectors import active_policy
from awda.policies.services import replace_policy
from tests import factories


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(cache.time, "monotonic", c)
    return c


def test_local_cache_keeps_values_for_their_time_and_never_none(clock: Clock) -> None:
    c: cache.LocalCache[str, int] = cache.LocalCache("test", ttl=5)
    calls: list[str] = []

    def load(value: int | None) -> int | None:
        calls.append("load")
        return value

    assert c.get_or_load("a", lambda: load(1)) == 1
    assert c.get_or_load("a", lambda: load(2)) == 1  # kept
    clock.now += 5.1
    assert c.get_or_load("a", lambda: load(3)) == 3  # expired, loaded again
    assert c.get_or_load("b", lambda: load(None)) is None
    assert c.get_or_load("b", lambda: load(None)) is None  # misses are not kept
    assert len(calls) == 4
    c.invalidate("a")
    assert c.get_or_load("a", lambda: load(4)) == 4
    cache.clear_all()
    assert c.get_or_load("a", lambda: load(5)) == 5


def test_local_cache_is_bounded(clock: Clock) -> None:
    c: cache.LocalCache[int, int] = cache.LocalCache("test", ttl=60, max_entries=3)
    for i in range(10):
        c.get_or_load(i, lambda i=i: i)  # type: ignore[misc]
    assert len(c._entries) <= 3


@pytest.mark.django_db
def test_revoked_key_is_refused_at_once_here_and_within_the_cache_time_elsewhere(
    clock: Clock,
) -> None:
    merchant = factories.merchant()
    token = issue_api_key(merchant=merchant, name="a").plaintext
    other = issue_api_key(merchant=merchant, name="b")
    assert authenticate_api_key(token) is not None
    assert authenticate_api_key(other.plaintext) is not None

    revoke_api_key(merchant=merchant, prefix=token.split("_")[1])  # this process
    assert authenticate_api_key(token) is None

    # Another process revokes: this one may keep the key for the cache's time, not longer.
    ApiKey.objects.filter(prefix=other.plaintext.split("_")[1]).update(
        revoked_at=merchant.created_at
    )
    clock.now += 5.1
    assert authenticate_api_key(other.plaintext) is None


@pytest.mark.django_db
def test_a_wrong_secret_is_refused_even_when_the_key_is_cached(clock: Clock) -> None:
    merchant = factories.merchant()
    token = issue_api_key(merchant=merchant, name="a").plaintext
    assert authenticate_api_key(token) is not None
    assert authenticate_api_key(token[:-2] + "xx") is None


@pytest.mark.django_db
def test_a_new_policy_is_seen_at_once_here_and_within_the_cache_time_elsewhere(
    clock: Clock,
) -> None:
    merchant = factories.merchant()
    first, _doc = active_policy(merchant=merchant)
    replace_policy(merchant=merchant, document=default_policy(currency="SAR", country="SA"))
    second, _doc = active_policy(merchant=merchant)
    assert second == first + 1

    # Another process activates a version behind this one's back.
    ReturnPolicy.objects.filter(merchant=merchant).update(is_active=False)
    ReturnPolicy.objects.filter(merchant=merchant, version=first).update(is_active=True)
    assert active_policy(merchant=merchant)[0] == second  # still within the cache's time
    clock.now += 5.1
    assert active_policy(merchant=merchant)[0] == first

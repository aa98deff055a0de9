"""/api/v1 store credit: the store's checkout checks and spends a code; staff adjust.

Through the real API when ``awda.api.app`` mounts the wallet router; until then through
a NinjaAPI built the same way (the API-key auth and the app's own error mapping).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ninja import NinjaAPI
from ninja.testing import TestClient

from awda.api import app, wallet
from awda.api.auth import ApiKeyAuth
from awda.api.parser import AwdaParser
from awda.core.money import Money
from awda.wallet.models import CreditAccount
from awda.wallet.services import grant_store_credit
from tests import factories
from tests.wallet.checks import customer

pytestmark = pytest.mark.django_db


def _mounted() -> bool:
    return any(router is wallet.router for _, router in app.api._routers)


class _Client:
    """The API's paths (without /api/v1) and JSON bodies, whichever way it is reached."""

    def __init__(self, key: str | None) -> None:
        self.real = factories.ApiClient(key) if _mounted() else None
        if self.real is None:
            api = NinjaAPI(auth=ApiKeyAuth(), urls_namespace="wallet-tests", parser=AwdaParser())
            for exc, handler in app.api._exception_handlers.items():
                api.add_exception_handler(exc, handler)
            api.add_router("/", wallet.router)
            self.test = TestClient(api, headers={"Authorization": f"Bearer {key}"} if key else {})

    def get(self, path: str) -> Any:
        return self.real.get(path) if self.real else self.test.get(path)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.real.post(path, body) if self.real else self.test.post(path, json=body)


@pytest.fixture
def client(api_key: str) -> Iterator[_Client]:
    yield _Client(api_key)


@pytest.fixture
def code(merchant) -> str:
    result = grant_store_credit(
        merchant=merchant,
        customer=customer(merchant),
        amount=Money(10000, "SAR"),
        bonus=Money(500, "SAR"),
        idempotency_key="grant-1",
        reference="R-1",
        actor="agent:1",
        expires_at=factories.days_ago(-30),
    )
    assert result.code is not None
    return result.code


def redemption(code: str, minor: int = 2500, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "amount_minor": minor,
        "currency": "SAR",
        "idempotency_key": "checkout-5001",
        "reference": "order 5001",
        **extra,
    }


def test_store_credit_needs_a_valid_api_key(db, code):
    response = _Client(None).post("/store-credit/check", {"code": code})
    assert response.status_code == 401


def test_the_checkout_checks_a_balance_with_the_code_in_the_body(client, code):
    response = client.post("/store-credit/check", {"code": code})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["balance_minor"] == 10500
    assert body["currency"] == "SAR"
    assert body["next_expiry_minor"] == 10500
    assert body["next_expiry_at"] is not None


def test_the_balance_can_also_be_read_with_the_code_in_the_path(client, code):
    response = client.get(f"/store-credit/{code}")
    assert response.status_code == 200
    assert response.json()["balance_minor"] == 10500


def test_an_unknown_code_is_404(client, code):
    for response in (
        client.post("/store-credit/check", {"code": "2345-6789-ABCD-EFGH-JKMN"}),
        client.get("/store-credit/nope"),
        client.post("/store-credit/redeem", redemption("2345-6789-ABCD-EFGH-JKMN")),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_another_stores_code_is_404(client, merchant):
    other = factories.merchant()
    foreign = grant_store_credit(
        merchant=other,
        customer=customer(other),
        amount=Money(10000, "SAR"),
        idempotency_key="grant-1",
        reference="R-1",
        actor="agent:1",
    ).code
    assert client.post("/store-credit/check", {"code": foreign}).status_code == 404


def test_a_redemption_is_201_then_200_when_repeated_with_its_key(client, code):
    first = client.post("/store-credit/redeem", redemption(code))
    assert first.status_code == 201, first.content
    assert first.json()["balance_minor"] == 8000
    again = client.post("/store-credit/redeem", redemption(code))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert CreditAccount.objects.get().balance_minor == 8000


def test_a_redemption_key_reused_with_another_amount_is_409(client, code):
    client.post("/store-credit/redeem", redemption(code))
    response = client.post("/store-credit/redeem", redemption(code, 3000))
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"


def test_redeeming_more_than_the_balance_is_422_with_the_available_balance(client, code):
    response = client.post("/store-credit/redeem", redemption(code, 10501))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "insufficient_credit"
    assert body["details"] == {"available_minor": 10500, "currency": "SAR"}


@pytest.mark.parametrize(
    ("extra", "code_", "field"),
    [
        ({"currency": "AED"}, "currency_mismatch", None),
        ({"currency": "QQQ"}, "invalid_input", "currency"),
        ({"amount_minor": 0}, "invalid_input", None),
        ({"idempotency_key": "short"}, "invalid_input", None),
        ({"extra": 1}, "invalid_input", None),
    ],
)
def test_a_redemption_that_makes_no_sense_is_422_never_500(client, code, extra, code_, field):
    response = client.post("/store-credit/redeem", redemption(code, **extra))
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == code_
    if field:
        assert body["field"] == field


def test_staff_adjust_a_customers_credit_by_the_stores_customer_id(client, merchant):
    customer(merchant, email="c7@example.com", external_id="cust-7")
    up = client.post(
        "/customers/cust-7/store-credit/adjust",
        {"amount_minor": 1500, "currency": "SAR", "reason": "Late delivery"},
    )
    assert up.status_code == 200, up.content
    assert up.json()["balance_minor"] == 1500
    new_code = up.json()["code"]
    assert new_code
    down = client.post(
        "/customers/cust-7/store-credit/adjust",
        {"amount_minor": -500, "currency": "SAR", "reason": "Typo"},
    )
    assert down.json()["balance_minor"] == 1000
    assert down.json()["code"] is None
    too_much = client.post(
        "/customers/cust-7/store-credit/adjust",
        {"amount_minor": -1001, "currency": "SAR", "reason": "Typo"},
    )
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "insufficient_credit"
    assert client.post("/store-credit/check", {"code": new_code}).json()["balance_minor"] == 1000


def test_adjusting_an_unknown_customer_is_404(client):
    response = client.post(
        "/customers/nobody/store-credit/adjust",
        {"amount_minor": 100, "currency": "SAR", "reason": "x"},
    )
    assert response.status_code == 404

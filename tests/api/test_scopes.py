"""API-key scopes through the client: each operation needs ``<area>:read`` (GET/HEAD) or
``<area>:write`` (anything else), ``write`` covers ``read``, ``*`` covers everything, and a
missing scope is a 403 naming it — for every operation the OpenAPI document lists."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest
from django.apps import apps as django_apps

from awda.core.cache import clear_all
from awda.merchants.models import ApiKey
from awda.merchants.scopes import ALL, SCOPES, Area
from awda.merchants.services import revoke_api_key
from tests import factories

pytestmark = pytest.mark.django_db

RETURN = {
    "order_number": "1001",
    "method": "label",
    "items": [{"line_ref": "1", "quantity": 1, "reason": "too_small"}],
}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation of the published document."""
    document = factories.ApiClient(None).get("/openapi.json").json()
    return [
        (method.upper(), path.removeprefix("/api/v1"), op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    ]


def _scope(op: dict[str, Any]) -> str:
    [requirement] = op["security"]
    [scopes] = requirement.values()
    [scope] = scopes
    return str(scope)


def _filled(path: str, op: dict[str, Any]) -> str:
    """The path with a value of the right shape in each parameter (routing must match)."""
    for param in op.get("parameters", []):
        if param["in"] != "path":
            continue
        schema = param.get("schema", {})
        if schema.get("enum"):
            value = str(schema["enum"][0])
        elif schema.get("type") == "integer":
            value = "1"
        elif schema.get("format") == "uuid":
            value = str(uuid.uuid4())
        else:
            value = "x"
        path = path.replace("{" + param["name"] + "}", value)
    return path


def _call(client: factories.ApiClient, method: str, path: str) -> Any:
    return client._call(method.lower(), path, {} if method != "GET" else None)


def test_a_read_only_key_reads_orders_but_may_not_create_returns(merchant):
    factories.order(merchant, number="1001")
    api = factories.ApiClient(factories.api_key(merchant, scopes=["orders:read"]))

    assert api.get("/orders/1001").status_code == 200

    refused = api.post("/returns", RETURN)
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "scope_missing"
    assert body["needed"] == "returns:write"
    assert "returns:write" in body["message"]
    assert api.put("/orders/1001", {}).json()["needed"] == "orders:write"
    assert api.get("/returns").json()["needed"] == "returns:read"


def test_a_missing_scope_is_explained_in_the_request_language(merchant):
    api = factories.ApiClient(factories.api_key(merchant, scopes=["orders:read"]))

    refused = api.get("/returns", headers={"Accept-Language": "ar"})

    assert refused.status_code == 403
    assert "returns:read" in refused.json()["message"]
    assert any("\u0600" <= ch <= "\u06ff" for ch in refused.json()["message"])


def test_a_full_access_key_may_do_everything(merchant):
    factories.order(merchant, number="1001")
    api = factories.ApiClient(factories.api_key(merchant, scopes=[ALL]))

    assert api.get("/orders/1001").status_code == 200
    assert api.get("/returns").status_code == 200
    assert api.get("/export/orders.csv").status_code == 200
    assert api.get("/webhooks/subscriptions").status_code == 200


def test_write_covers_read_of_the_same_area_only(merchant):
    factories.order(merchant, number="1001")
    api = factories.ApiClient(factories.api_key(merchant, scopes=["orders:write"]))

    assert api.get("/orders/1001").status_code == 200
    assert api.get("/orders/1001/returnable-lines").status_code == 200
    assert api.get("/returns").status_code == 403


def test_a_key_without_scopes_may_do_nothing(merchant):
    api = factories.ApiClient(factories.api_key(merchant, scopes=[]))

    for method, path, op in _operations():
        response = _call(api, method, _filled(path, op))
        assert response.status_code == 403, (method, path, response.content)


def test_every_operation_names_its_scope_and_documents_the_403(db):
    operations = _operations()
    areas = set()
    for method, path, op in operations:
        scope = _scope(op)
        assert scope in SCOPES, (method, path)
        expected_level = "read" if method in {"GET", "HEAD"} else "write"
        if scope != ALL:
            area, level = scope.split(":")
            assert level == expected_level, (method, path)
            areas.add(area)
        assert "403" in op["responses"], (method, path)
        assert op["responses"]["403"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ScopeMissingOut"
        }
    assert areas == set(Area.values)


@pytest.mark.parametrize("area", Area.values)
def test_every_operation_of_an_area_refuses_a_key_without_that_area(merchant, area):
    others = [f"{a}:write" for a in Area.values if a != area]
    api = factories.ApiClient(factories.api_key(merchant, scopes=others))
    guarded = [(m, p, op) for m, p, op in _operations() if _scope(op).startswith(f"{area}:")]
    assert guarded

    for method, path, op in guarded:
        response = _call(api, method, _filled(path, op))
        assert response.status_code == 403, (method, path, response.content)
        assert response.json()["needed"] == _scope(op), (method, path)


def test_the_needed_scope_alone_gets_every_operation_past_the_check(merchant):
    # The other half of the guard: not a 403 for a key holding exactly what is named (the
    # operation may still say 404 or 422 to these made-up paths and bodies, never a 500).
    for method, path, op in _operations():
        api = factories.ApiClient(factories.api_key(merchant, scopes=[_scope(op)]))
        response = _call(api, method, _filled(path, op))
        assert response.status_code not in {401, 500}, (method, path, response.content)
        if response.status_code == 403:
            assert response.json()["code"] != "scope_missing", (method, path)


def test_csv_import_and_export_need_a_full_access_key(merchant):
    every_area = [f"{a}:write" for a in Area.values]
    api = factories.ApiClient(factories.api_key(merchant, scopes=every_area))

    response = api.get("/export/orders.csv")

    assert response.status_code == 403
    assert response.json()["needed"] == ALL


def test_a_revoked_key_is_refused_with_401_whatever_its_scopes(merchant):
    token = factories.api_key(merchant, scopes=[ALL])
    revoke_api_key(merchant=merchant, prefix=token.split("_")[1])

    response = factories.ApiClient(token).get("/returns")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_keys_issued_before_scopes_keep_full_access(merchant):
    factories.order(merchant, number="1001")
    token = factories.api_key(merchant, scopes=[])
    # As the column's default left them before the data migration ran.
    assert ApiKey.objects.get(prefix=token.split("_")[1]).scopes == []
    migration = importlib.import_module("awda.merchants.migrations.0004_api_key_scopes")
    migration.full_access_for_existing_keys(django_apps, None)
    clear_all()  # what a restart (or the cache's time-to-live) does after an upgrade
    api = factories.ApiClient(token)

    assert ApiKey.objects.get(prefix=token.split("_")[1]).scopes == [ALL]
    assert api.get("/orders/1001").status_code == 200
    assert api.post("/returns", RETURN).status_code == 201

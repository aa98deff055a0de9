"""API-key scopes: the rules (write covers read, ``*`` covers all), issuing and changing
keys with them, and the owner's admin form."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from awda.core.errors import InvalidInput, PermissionDenied
from awda.merchants.models import ApiKey
from awda.merchants.scopes import ALL, SCOPES, Area, allows, grants_no_more, needed_scope
from awda.merchants.services import api_key_access, change_api_key_scopes, issue_api_key
from tests import factories


def test_there_is_a_read_and_a_write_scope_for_every_area_and_one_for_everything():
    expected = {f"{area}:{level}" for area in Area.values for level in ("read", "write")}
    assert set(SCOPES) == expected | {ALL}


def test_get_and_head_read_and_every_other_method_writes():
    assert needed_scope(Area.ORDERS, "GET") == "orders:read"
    assert needed_scope(Area.ORDERS, "head") == "orders:read"
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert needed_scope(Area.ORDERS, method) == "orders:write"


def test_an_operation_of_no_area_needs_full_access():
    assert needed_scope(None, "GET") == ALL


def test_write_covers_read_of_its_own_area_only():
    assert allows(["orders:write"], "orders:read")
    assert not allows(["orders:write"], "returns:read")
    assert not allows(["orders:read"], "orders:write")


def test_everything_covers_every_scope_and_nothing_else_covers_everything():
    assert all(allows([ALL], scope) for scope in SCOPES)
    assert not allows([f"{a}:write" for a in Area.values], ALL)
    assert not allows([], "orders:read")


def test_a_key_can_hand_out_no_more_than_it_holds():
    assert grants_no_more(["orders:write"], ["orders:read", "orders:write"])
    assert not grants_no_more(["orders:read"], ["orders:write"])
    assert not grants_no_more(["orders:write", "returns:write"], [ALL])
    assert grants_no_more([ALL], [ALL])


@pytest.mark.django_db
def test_a_key_is_issued_with_full_access_unless_scopes_are_given(merchant):
    assert issue_api_key(merchant=merchant, name="a").key.scopes == [ALL]
    narrow = issue_api_key(merchant=merchant, name="b", scopes=["returns:read", "orders:read"])
    assert narrow.key.scopes == ["orders:read", "returns:read"]  # listed order, no repeats
    access = api_key_access(narrow.plaintext)
    assert access is not None
    assert access.merchant == merchant
    assert access.scopes == {"orders:read", "returns:read"}


@pytest.mark.django_db
def test_an_unknown_scope_is_refused_naming_it(merchant):
    with pytest.raises(InvalidInput) as refused:
        issue_api_key(merchant=merchant, name="a", scopes=["orders:read", "orders:delete"])

    assert refused.value.field == "scopes"
    assert "orders:delete" in str(refused.value.message)
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_a_key_can_not_grant_scopes_it_does_not_hold(merchant):
    with pytest.raises(PermissionDenied):
        issue_api_key(
            merchant=merchant, name="a", scopes=["orders:write"], granted_by=["orders:read"]
        )
    key = issue_api_key(merchant=merchant, name="a", scopes=["orders:read"])
    with pytest.raises(PermissionDenied):
        change_api_key_scopes(
            merchant=merchant, prefix=key.key.prefix, scopes=[ALL], granted_by=["orders:read"]
        )
    assert ApiKey.objects.get(pk=key.key.pk).scopes == ["orders:read"]


@pytest.mark.django_db
def test_changed_scopes_apply_to_the_next_request_of_this_process(merchant):
    key = issue_api_key(merchant=merchant, name="a", scopes=[ALL])
    assert api_key_access(key.plaintext) is not None  # now cached

    change_api_key_scopes(merchant=merchant, prefix=key.key.prefix, scopes=["orders:read"])

    access = api_key_access(key.plaintext)
    assert access is not None
    assert access.scopes == {"orders:read"}


@pytest.fixture
def owner_client(db: None) -> Client:
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_adds_a_key_with_scopes_in_the_admin_and_sees_it_once(merchant, owner_client):
    response = owner_client.post(
        "/admin/merchants/apikey/add/",
        {"merchant": merchant.pk, "name": "warehouse scanner", "scopes": ["warehouse:write"]},
        follow=True,
    )

    assert response.status_code == 200
    key = ApiKey.objects.get(name="warehouse scanner")
    assert key.scopes == ["warehouse:write"]
    shown = [str(m) for m in response.context["messages"]]
    [plaintext] = [word for m in shown for word in m.split() if word.startswith("awda_")]
    access = api_key_access(plaintext)
    assert access is not None
    assert access.scopes == {"warehouse:write"}
    assert "warehouse:write" in owner_client.get("/admin/merchants/apikey/").content.decode()


def test_the_owner_narrows_a_key_in_the_admin(merchant, owner_client):
    token = factories.api_key(merchant)
    key = ApiKey.objects.get()
    assert api_key_access(token) is not None  # cached with full access

    response = owner_client.post(
        f"/admin/merchants/apikey/{key.pk}/change/",
        {"scopes": ["orders:read", "returns:read"], "revoked_at_0": "", "revoked_at_1": ""},
    )

    assert response.status_code == 302, response.content
    access = api_key_access(token)
    assert access is not None
    assert access.scopes == {"orders:read", "returns:read"}


def test_the_admin_refuses_an_unknown_scope(merchant, owner_client):
    response = owner_client.post(
        "/admin/merchants/apikey/add/",
        {"merchant": merchant.pk, "name": "x", "scopes": ["orders:delete"]},
    )

    assert response.status_code == 200  # the form again, with the error
    assert not ApiKey.objects.exists()

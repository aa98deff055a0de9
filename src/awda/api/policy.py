"""/api/v1/policy: read and replace the merchant's return policy (JSON or YAML)."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Body, Router, Schema

from awda.api.auth import merchant_of
from awda.policies.document import PolicyInvalid, parse_policy
from awda.policies.selectors import active_policy
from awda.policies.services import replace_policy
from awda.policies.yaml_io import dump_policy_yaml, load_policy_yaml

router = Router(tags=["policy"])


class PolicyOut(Schema):
    version: int
    document: dict[str, Any]


def _current(request: HttpRequest) -> PolicyOut:
    version, doc = active_policy(merchant=merchant_of(request))
    return PolicyOut(version=version, document=doc.to_data())


@router.get("/policy", response=PolicyOut, summary="The active return policy")
def read_policy(request: HttpRequest) -> PolicyOut:
    return _current(request)


@router.put("/policy", response=PolicyOut, summary="Replace the return policy (new version)")
def put_policy(request: HttpRequest, document: Body[dict[str, Any]]) -> PolicyOut:
    replace_policy(merchant=merchant_of(request), document=parse_policy(document))
    return _current(request)


@router.get("/policy.yaml", summary="The active return policy as YAML")
def read_policy_yaml(request: HttpRequest) -> HttpResponse:
    _version, doc = active_policy(merchant=merchant_of(request))
    return HttpResponse(dump_policy_yaml(doc), content_type="application/yaml; charset=utf-8")


@router.put(
    "/policy.yaml",
    response=PolicyOut,
    summary="Replace the return policy from a YAML body",
    openapi_extra={
        "requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}
    },
)
def put_policy_yaml(request: HttpRequest) -> PolicyOut:
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        from awda.policies.document import PolicyError

        raise PolicyInvalid([PolicyError("(document)", _("The file is not UTF-8 text."))]) from None
    replace_policy(merchant=merchant_of(request), document=load_policy_yaml(text))
    return _current(request)

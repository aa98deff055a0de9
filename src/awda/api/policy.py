"""/api/v1/policy: read and replace the merchant's return policy (JSON or YAML), and try a
policy on an order as the policy editor does."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Body, Router, Schema
from pydantic import Field

from awda.api.auth import merchant_of
from awda.core import clock
from awda.core.schemas import UtcDatetime
from awda.orders.selectors import get_order_lines
from awda.policies.document import PolicyDocument, PolicyInvalid, parse_policy
from awda.policies.explain import explain
from awda.policies.rules import CompiledPolicy, evaluate_order
from awda.policies.selectors import active_compiled_policy, active_policy, facts_for_order
from awda.policies.services import replace_policy
from awda.policies.yaml_io import dump_policy_yaml, load_policy_yaml
from awda.webhooks.schemas import ErrorOut, InvalidInputOut

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


class PolicyTryIn(Schema):
    order_number: str = Field(min_length=1, max_length=64)
    # A policy document to try; none: the active policy.
    policy: dict[str, Any] | None = None


class TriedLineOut(Schema):
    line_ref: str
    sku: str
    title: str
    returnable: bool
    blocking: str | None
    window_days: int
    deadline: UtcDatetime | None
    days_left: int | None
    matched_rules: list[str]
    keep_item: bool
    photos_required: bool
    explanation: list[str]


class PolicyTryOut(Schema):
    order_number: str
    currency: str
    edited: bool
    lines: list[TriedLineOut]


@router.post(
    "/policy/try",
    response={200: PolicyTryOut, 401: ErrorOut, 404: ErrorOut, 422: InvalidInputOut},
    summary="Try a policy on an order",
    description="Each line of the order under `policy` (none: the active policy), with the "
    "decision and its explanation in the request's language (`Accept-Language`), as the "
    'policy editor\'s "try this policy" panel shows it. Nothing is saved. 404 `not_found`: no '
    "such order. 422 `invalid_policy`: the document is not a valid policy.",
)
def try_policy(request: HttpRequest, payload: PolicyTryIn) -> PolicyTryOut:
    merchant = merchant_of(request)
    document = parse_policy(payload.policy) if payload.policy is not None else None
    order, lines = get_order_lines(merchant=merchant, number=payload.order_number)
    policy: PolicyDocument | CompiledPolicy = (
        document if document is not None else active_compiled_policy(merchant=merchant)[1]
    )
    order_facts, line_facts = facts_for_order(order, lines)
    decisions = evaluate_order(
        policy, order_facts, [line_facts[li.id] for li in lines], now=clock.now()
    )
    lang = "ar" if (get_language() or "").startswith("ar") else "en"
    return PolicyTryOut(
        order_number=order.number,
        currency=order.currency,
        edited=document is not None,
        lines=[
            TriedLineOut(
                line_ref=d.line_ref,
                sku=li.sku,
                title=li.title_ar if lang == "ar" and li.title_ar else li.title_en,
                returnable=d.returnable,
                blocking=d.blocking,
                window_days=d.window_days,
                deadline=d.deadline,
                days_left=d.days_left,
                matched_rules=list(d.matched_rules),
                keep_item=d.keep_item,
                photos_required=d.photos_required,
                explanation=explain(d, lang),
            )
            for li, d in zip(lines, decisions, strict=True)
        ],
    )

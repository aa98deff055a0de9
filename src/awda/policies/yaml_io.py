"""Policies as YAML files, for merchants who keep their policy in version control."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.utils.translation import gettext as _

from awda.policies.document import (
    DOCUMENT_FIELD,
    PolicyDocument,
    PolicyError,
    PolicyInvalid,
    parse_policy,
)

_BOOL = "tag:yaml.org,2002:bool"
_FLOAT = "tag:yaml.org,2002:float"
_INT = "tag:yaml.org,2002:int"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, exact decimals and no silent duplicate keys."""


# YAML 1.1 reads `NO` (Norway), `on` and `y` as booleans and `2024-01-01` as a date; a policy
# has country codes and free text but no dates, so only true/false are booleans here.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal | float:
    # Percentages and rates are Decimals; going through float would turn 0.1 into
    # 0.1000000000000000055….
    assert isinstance(node, yaml.ScalarNode)
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return float(loader.construct_yaml_float(node))  # .inf / .nan; validation rejects them


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> dict[Any, Any]:
    assert isinstance(node, yaml.MappingNode)
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            # PyYAML keeps the last of two equal keys; a policy must not lose a setting quietly.
            raise yaml.constructor.ConstructorError(
                None, None, _("duplicate key %(key)s") % {"key": repr(key)}, key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(_FLOAT, _construct_decimal)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing Decimals as plain numbers and indenting lists under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    return dumper.represent_scalar(_INT if value == value.to_integral_value() else _FLOAT, text)


def _represent_sequence(
    dumper: yaml.SafeDumper, value: tuple[Any, ...] | list[Any]
) -> yaml.SequenceNode:
    # Short lists of codes read best on one line (`resolutions: [refund, exchange]`); lists
    # of rules stay in block style.
    flow = all(isinstance(item, str | int | Decimal) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(Decimal, _represent_decimal)
_Dumper.add_representer(tuple, _represent_sequence)
_Dumper.add_representer(list, _represent_sequence)


def _yaml_error(exc: yaml.YAMLError) -> PolicyError:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        problem = exc.problem or _("malformed YAML")
        message = _("invalid YAML at line %(line)s, column %(column)s: %(problem)s")
        return PolicyError(
            DOCUMENT_FIELD,
            message % {"line": mark.line + 1, "column": mark.column + 1, "problem": problem},
        )
    return PolicyError(DOCUMENT_FIELD, _("invalid YAML: %(error)s") % {"error": exc})


def load_policy_yaml(text: str) -> PolicyDocument:
    """Parse and validate a YAML policy, or raise PolicyInvalid (bad YAML included)."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise PolicyInvalid([_yaml_error(exc)]) from None
    if data is None:
        raise PolicyInvalid([PolicyError(DOCUMENT_FIELD, _("the file is empty"))])
    return parse_policy(data)


def dump_policy_yaml(doc: PolicyDocument) -> str:
    """The policy as readable YAML in schema field order; Arabic stays as Arabic."""
    return yaml.dump(
        doc.model_dump(mode="python", exclude_none=True),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )

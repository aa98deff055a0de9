"""Carrier adapters by code. Each lives in its own module and is imported when first used,
so a deployment that never talks to a carrier never loads its adapter."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from awda.shipping.carriers.base import Carrier

ADAPTERS: Mapping[str, str] = {
    "sandbox": "awda.shipping.carriers.sandbox:SandboxCarrier",
    "easypost": "awda.shipping.carriers.easypost:EasyPostCarrier",
    "shippo": "awda.shipping.carriers.shippo:ShippoCarrier",
    "smsa": "awda.shipping.carriers.smsa:SmsaCarrier",
    "aramex": "awda.shipping.carriers.aramex:AramexCarrier",
}


class UnknownCarrier(LookupError):
    pass


def adapter_class(code: str) -> type[Any]:
    try:
        module, name = ADAPTERS[code].split(":")
    except KeyError:
        raise UnknownCarrier(code) from None
    return getattr(importlib.import_module(module), name)


def build_carrier(code: str, settings: Mapping[str, str], **options: Any) -> Carrier:
    """An adapter for ``code`` configured with an account's decrypted ``settings``."""
    return adapter_class(code)(settings, **options)

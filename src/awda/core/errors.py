"""Domain errors: a stable code, an HTTP status and a translated message, defined once.

Interfaces (API, portal, CLI) map these to responses in one place; services raise them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule said no. Never a crash: always a 4xx with ``code``."""

    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 422
    default_message: ClassVar[str | Promise] = _("The request could not be completed.")

    def __init__(
        self,
        message: str | Promise | None = None,
        *,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.field = field
        self.details = dict(details or {})
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class InvalidInput(DomainError):
    """Input that parsed but makes no sense (a field and a reason)."""

    code = "invalid_input"
    status = 422
    default_message = _("Some fields are not valid.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("The request conflicts with the current state.")


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _("This action is not allowed in the current state.")


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    default_message = _("You are not allowed to do this.")

"""Domain errors of the catalog, each with a stable code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from awda.core.errors import DomainError


class OutOfStock(DomainError):
    """Not enough units left (on hand less reserved) for what was asked."""

    code = "out_of_stock"
    status = 409
    default_message = _("This item is out of stock. Choose another size, colour or product.")

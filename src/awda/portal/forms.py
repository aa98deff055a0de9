"""Portal forms: each error is shown next to its field, in the page's language."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class LookupForm(forms.Form):
    order_number = forms.CharField(
        label=_("Order number"),
        max_length=40,
        help_text=_("As in your order confirmation, e.g. 10001."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    contact = forms.CharField(
        label=_("E-mail or phone number"),
        max_length=254,
        help_text=_("The one you gave when you ordered."),
        widget=forms.TextInput(attrs={"autocomplete": "email"}),
    )

    def clean_order_number(self) -> str:
        value: str = self.cleaned_data["order_number"].strip().lstrip("#").strip()
        if not value:
            raise forms.ValidationError(_("Enter your order number."), code="required")
        return value

    def clean_contact(self) -> str:
        value: str = self.cleaned_data["contact"].strip()
        digits = sum(ch.isdigit() for ch in value)
        if "@" not in value and digits < 8:
            raise forms.ValidationError(
                _("Enter the e-mail address or the phone number of the order."), code="invalid"
            )
        return value

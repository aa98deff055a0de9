from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from awda.merchants.models import ApiKey, Merchant, StaffMembership
from awda.merchants.scopes import SCOPES
from awda.merchants.services import change_api_key_scopes, issue_api_key


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "name_ar", "currency", "country"]
    search_fields = ["slug", "name", "name_ar"]


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role"]
    list_filter = ["role"]


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=list(SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "What the key may do. Read covers GET requests of an area, read and write every "
            "request of it; “Everything” is all areas. A key without scopes is refused."
        ),
    )

    class Meta:
        model = ApiKey
        fields = ["merchant", "name", "scopes", "revoked_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # The plaintext is shown once, when the key is added; afterwards only its scopes change
    # or it is revoked. Writes go through merchants.services (which drops cached keys).
    form = ApiKeyForm
    list_display = ["name", "merchant", "prefix", "scope_list", "created_at", "revoked_at"]

    @admin.display(description=_("Scopes"))
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes) or "—"

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("merchant", "name", "scopes")
        return ("merchant", "name", "prefix", "created_at", "scopes", "revoked_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiKey | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("merchant", "name", "prefix", "created_at")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        scopes = form.cleaned_data["scopes"]
        if change:
            super().save_model(request, obj, form, change)  # the revocation date, as before
            obj.scopes = change_api_key_scopes(
                merchant=obj.merchant, prefix=obj.prefix, scopes=scopes
            )
            return
        issued = issue_api_key(merchant=obj.merchant, name=obj.name, scopes=scopes)
        obj.pk, obj.prefix, obj.created_at = issued.key.pk, issued.key.prefix, issued.key.created_at
        obj.secret_hash, obj.scopes = issued.key.secret_hash, issued.key.scopes
        messages.warning(
            request,
            gettext("Copy the key now, it is not shown again: %(key)s") % {"key": issued.plaintext},
        )

from django.contrib import admin
from django.http import HttpRequest

from awda.merchants.models import ApiKey, Merchant, StaffMembership


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "name_ar", "currency", "country"]
    search_fields = ["slug", "name", "name_ar"]


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role"]
    list_filter = ["role"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # Keys are issued by `awda` or the API (the plaintext is shown once); here only revoked.
    list_display = ["name", "merchant", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["merchant", "name", "prefix", "secret_hash", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

from django.contrib import admin
from django.http import HttpRequest

from awda.policies.models import ReturnPolicy


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(admin.ModelAdmin):
    # Versions are immutable: a change is a new version through the API or `awda policy`.
    list_display = ["merchant", "version", "is_active", "created_at"]
    readonly_fields = ["merchant", "version", "document", "is_active", "created_at", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

from django.contrib import admin
from django.http import HttpRequest

from awda.returns.models import Return, ReturnItem, ReturnPhoto, ReturnReason, TimelineEntry


class ItemInline(admin.TabularInline):
    model = ReturnItem
    extra = 0
    readonly_fields = ["order_line", "quantity", "reason_code", "resolution", "refund_minor"]


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    readonly_fields = ["at", "kind", "from_status", "to_status", "actor", "note"]


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    # Status changes only through the services (they keep the timeline and the outbox).
    list_display = ["number", "merchant", "status", "method", "refund_total_minor", "requested_at"]
    list_filter = ["merchant", "status", "method"]
    search_fields = ["number", "order__number", "customer__email"]
    readonly_fields = ["status", "quote", "refund_total_minor", "store_credit_total_minor"]
    inlines = [ItemInline, TimelineInline]


@admin.register(ReturnReason)
class ReturnReasonAdmin(admin.ModelAdmin):
    list_display = ["code", "parent", "label_en", "label_ar", "merchant_fault", "active"]
    list_filter = ["merchant", "active"]


@admin.register(ReturnPhoto)
class ReturnPhotoAdmin(admin.ModelAdmin):
    # Photos come in only through returns.photos.store_photo, which checks and cleans them.
    list_display = ["pk", "merchant", "order", "return_item", "content_type", "size_bytes"]
    list_filter = ["merchant", "content_type"]
    list_select_related = ["merchant", "order"]
    search_fields = ["order__number", "sha256"]
    readonly_fields = [
        "merchant",
        "order",
        "return_item",
        "file",
        "content_type",
        "size_bytes",
        "width",
        "height",
        "sha256",
        "created_at",
        "attached_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

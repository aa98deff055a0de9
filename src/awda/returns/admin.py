from django.contrib import admin

from awda.returns.models import Return, ReturnItem, ReturnReason, TimelineEntry


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

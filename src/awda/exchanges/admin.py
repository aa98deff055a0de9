from django.contrib import admin

from awda.exchanges.models import Exchange, ExchangeLine, ExchangePayment, StockReservation


class ExchangeLineInline(admin.TabularInline):
    model = ExchangeLine
    extra = 0


class StockReservationInline(admin.TabularInline):
    model = StockReservation
    extra = 0


class ExchangePaymentInline(admin.TabularInline):
    model = ExchangePayment
    extra = 0


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    list_display = [
        "reference", "status", "difference_minor", "difference_handling", "originals", "instant",
    ]  # fmt: skip
    list_filter = ["merchant", "status", "difference_handling", "originals", "instant"]
    search_fields = ["reference"]
    inlines = [ExchangeLineInline, StockReservationInline, ExchangePaymentInline]

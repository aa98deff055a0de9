from django.contrib import admin

from awda.orders.models import Customer, Order, OrderLine, Payment


class LineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["line_ref", "sku", "title_en", "quantity", "delivered_quantity", "returned_quantity"]
    readonly_fields = ["returned_quantity"]


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "merchant", "customer", "total_minor", "currency", "placed_at"]
    list_filter = ["merchant", "payment_method"]
    search_fields = ["number", "customer__email", "customer__phone"]
    inlines = [LineInline, PaymentInline]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "merchant", "returns_count"]
    search_fields = ["email", "phone", "name"]

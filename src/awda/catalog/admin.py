from django.contrib import admin

from awda.catalog.models import Category, Location, Product, Supplier, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["external_id", "title_en", "title_ar", "category", "supplier", "final_sale"]
    list_filter = ["merchant", "final_sale", "returnable"]
    search_fields = ["external_id", "title_en", "title_ar"]
    inlines = [VariantInline]


admin.site.register(Category)
admin.site.register(Supplier)
admin.site.register(Location)

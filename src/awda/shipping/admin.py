from django.contrib import admin

from awda.shipping.models import DropOffPoint


@admin.register(DropOffPoint)
class DropOffPointAdmin(admin.ModelAdmin):
    list_display = ["name_en", "name_ar", "carrier", "city_en", "country", "active", "merchant"]
    list_filter = ["carrier", "country", "active"]
    search_fields = ["name_en", "name_ar", "code", "city_en", "city_ar"]

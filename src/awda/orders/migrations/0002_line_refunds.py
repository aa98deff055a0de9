# What each order line was paid and has given back, with the database's cap between them
# (DESIGN §6: never refund more than was paid for a line), and the rows that say which
# resolution part counted what. The money already sent for returns is counted by
# returns/0005 (which knows the returns' keys).

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F


def fill_paid(apps, schema_editor):
    """``paid_minor`` as ``order_columns`` now stores it: price × quantity − discount, plus
    the tax when the order's prices exclude it."""
    OrderLine = apps.get_model("orders", "OrderLine")
    net = F("unit_price_minor") * F("quantity") - F("discount_minor")
    OrderLine.objects.filter(order__prices_include_tax=True).update(paid_minor=net)
    OrderLine.objects.filter(order__prices_include_tax=False).update(
        paid_minor=net + F("tax_minor")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0001_initial"),
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderline",
            name="paid_minor",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="orderline",
            name="refunded_minor",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(fill_paid, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="orderline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("refunded_minor__gte", 0), ("refunded_minor__lte", F("paid_minor"))
                ),
                name="line_refund_within_paid",
            ),
        ),
        migrations.CreateModel(
            name="LineRefund",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=120)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("refund", "Refund"),
                            ("bank_transfer", "Bank transfer"),
                            ("store_credit", "Store credit"),
                        ],
                        max_length=20,
                    ),
                ),
                ("reference", models.CharField(max_length=80)),
                ("amount_minor", models.BigIntegerField()),
                ("created_at", models.DateTimeField()),
                ("released_at", models.DateTimeField(blank=True, null=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "order_line",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="refunds",
                        to="orders.orderline",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["merchant", "key"], name="line_refund_key_idx"),
                    models.Index(
                        fields=["merchant", "reference"], name="line_refund_reference_idx"
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("order_line", "key"), name="line_refund_once_per_key"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount_minor__gt", 0)), name="line_refund_positive"
                    ),
                ],
            },
        ),
    ]

"""Gateway accounts get a public id for their webhook address, and deliveries are stored.

The public id is added empty, filled in for existing accounts, and made unique and required
in the next migration (its own transaction: PostgreSQL won't alter a table with pending
updates in the same one).
"""

import secrets

import django.db.models.deletion
from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    GatewayAccount = apps.get_model("payments", "GatewayAccount")
    for account in GatewayAccount.objects.filter(public_id__isnull=True).only("pk"):
        GatewayAccount.objects.filter(pk=account.pk).update(public_id=secrets.token_urlsafe(16))


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0003_label_logo"),
        ("payments", "0002_bank_payouts"),
    ]

    operations = [
        migrations.AddField(
            model_name="gatewayaccount",
            name="public_id",
            field=models.CharField(max_length=32, null=True),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.CreateModel(
            name="GatewayWebhook",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("event_id", models.CharField(max_length=200)),
                ("body", models.TextField()),
                ("received_at", models.DateTimeField()),
                ("processed_at", models.DateTimeField(blank=True, null=True)),
                ("outcome", models.CharField(blank=True, max_length=300)),
                ("account", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="payments.gatewayaccount")),
                ("merchant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="merchants.merchant")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("account", "event_id"), name="gateway_webhook_once")],
                "indexes": [models.Index(condition=models.Q(("processed_at__isnull", True)), fields=["received_at"], name="gateway_webhook_pending_idx")],
            },
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0003_gateway_webhooks"),
    ]

    operations = [
        migrations.AlterField(
            model_name="gatewayaccount",
            name="public_id",
            field=models.CharField(max_length=32, unique=True),
        ),
    ]

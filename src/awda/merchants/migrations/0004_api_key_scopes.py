# API keys get scopes (merchants/scopes.py). Keys issued before had full access to their
# merchant and keep it: they get ``["*"]``. A new row without scopes allows nothing.

from django.db import migrations, models


def full_access_for_existing_keys(apps, schema_editor):
    ApiKey = apps.get_model("merchants", "ApiKey")
    ApiKey.objects.update(scopes=["*"])


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0003_label_logo"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="scopes",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(
            full_access_for_existing_keys, migrations.RunPython.noop, elidable=False
        ),
    ]

"""Each ``CustomerDay`` row carries the customer's running state (see the model), filled
here for the rows already stored, from each customer's earlier rows."""

from django.db import migrations, models

EARLIER = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"


def _earliest(a: str, b: str) -> str:
    return f"CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL WHEN {a} < {b} THEN {a} ELSE {b} END"


def fill_running_state(apps, schema_editor):
    table = apps.get_model("analytics", "CustomerDay")._meta.db_table
    schema_editor.execute(
        f"""
        UPDATE {table} SET prev_bought = s.pb,
               both_since = {_earliest("s.lb", "s.lr")},
               prev_both = {_earliest("s.pb", "s.pr")}
        FROM (
            SELECT r.id, r.pb, r.pr,
                   CASE WHEN r.bought = 1 THEN r.day ELSE r.pb END AS lb,
                   CASE WHEN r.returned = 1 THEN r.day ELSE r.pr END AS lr
            FROM (
                SELECT c.id, c.day, c.bought, c.returned,
                       MAX(CASE WHEN c.bought = 1 THEN c.day END) OVER (
                           PARTITION BY c.merchant_id, c.customer_id ORDER BY c.day {EARLIER}
                       ) AS pb,
                       MAX(CASE WHEN c.returned = 1 THEN c.day END) OVER (
                           PARTITION BY c.merchant_id, c.customer_id ORDER BY c.day {EARLIER}
                       ) AS pr
                FROM {table} c
            ) r
        ) s
        WHERE {table}.id = s.id
        """  # noqa: S608 (table name)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_customer_days"),
    ]

    operations = [
        migrations.AddField(
            model_name="customerday",
            name="both_since",
            field=models.DateField(null=True),
        ),
        migrations.AddField(
            model_name="customerday",
            name="prev_both",
            field=models.DateField(null=True),
        ),
        migrations.AddField(
            model_name="customerday",
            name="prev_bought",
            field=models.DateField(null=True),
        ),
        migrations.RunPython(fill_running_state, migrations.RunPython.noop, elidable=True),
    ]

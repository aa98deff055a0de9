# Inspection (a decision's note), money held for review (the in_review status, what is at
# stake per item), and the money returns already sent, counted against their order lines
# (orders/0002 added the counters and the cap).

from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def _split(lines, parts):
    """orders.rules.split_lines_over_parts as of this migration: the parts filled in order
    from the lines in order → (key, line_id, amount)."""
    rows, remaining, i = [], [list(line) for line in lines], 0
    for key, part in parts:
        left = part
        while left:
            take = min(left, remaining[i][1])
            rows.append((key, remaining[i][0], take))
            left -= take
            remaining[i][1] -= take
            if remaining[i][1] == 0:
                i += 1
    return rows


def _return_id(key, prefix, suffix):
    middle = key[len(prefix) : len(key) - len(suffix)]
    return (
        int(middle)
        if key.startswith(prefix) and key.endswith(suffix) and middle.isdigit()
        else None
    )


def count_money_already_sent(apps, schema_editor):
    """The refunds, transfers and store credit that returns sent before lines kept count, as
    ``issue_resolutions`` now counts them (same keys, same split). A return whose money
    doesn't add up to its items, or would take a line above what was paid, is left
    uncounted rather than failing the upgrade."""
    Return = apps.get_model("returns", "Return")
    ReturnItem = apps.get_model("returns", "ReturnItem")
    Refund = apps.get_model("payments", "Refund")
    BankPayout = apps.get_model("payments", "BankPayout")
    LedgerTransaction = apps.get_model("wallet", "LedgerTransaction")
    OrderLine = apps.get_model("orders", "OrderLine")
    LineRefund = apps.get_model("orders", "LineRefund")

    refunds, transfers, credits = {}, {}, set()
    for key, request_key, amount, status in (
        Refund.objects.filter(request_key__startswith="return-", request_key__endswith="-refund")
        .order_by("pk")
        .values_list("idempotency_key", "request_key", "amount_minor", "status")
    ):
        pk = _return_id(request_key, "return-", "-refund")
        if pk is not None:
            refunds.setdefault(pk, []).append((key, amount, status == "review"))
    for key, amount in BankPayout.objects.filter(
        idempotency_key__startswith="return-", idempotency_key__endswith="-transfer"
    ).values_list("idempotency_key", "amount_minor"):
        pk = _return_id(key, "return-", "-transfer")
        if pk is not None:
            transfers[pk] = (key, amount)
    for key in LedgerTransaction.objects.filter(
        idempotency_key__startswith="return-", idempotency_key__endswith="-credit"
    ).values_list("idempotency_key", flat=True):
        pk = _return_id(key, "return-", "-credit")
        if pk is not None:
            credits.add(pk)

    now = timezone.now()
    for ret in Return.objects.filter(pk__in=set(refunds) | set(transfers) | credits).order_by("pk"):
        items = list(ReturnItem.objects.filter(return_request_id=ret.pk).order_by("pk"))
        by_resolution = {"refund": {}, "store_credit": {}}
        for item in items:
            if item.resolution in by_resolution and item.refund_minor > 0:
                lines = by_resolution[item.resolution]
                lines[item.order_line_id] = lines.get(item.order_line_id, 0) + item.refund_minor
        refund_lines = sorted(by_resolution["refund"].items())
        credit_lines = sorted(by_resolution["store_credit"].items())
        rows = []  # (key, kind, line_id, amount, released)
        wanted = [
            ("refund", refund_lines, [(k, a) for k, a, _r in refunds.get(ret.pk, [])]),
            ("bank_transfer", refund_lines, [transfers[ret.pk]] if ret.pk in transfers else []),
            (
                "store_credit",
                credit_lines,
                [(f"return-{ret.pk}-credit", sum(a for _l, a in credit_lines))]
                if ret.pk in credits
                else [],
            ),
        ]
        released = {k for k, _a, r in refunds.get(ret.pk, []) if r}
        consistent = True
        for kind, lines, parts in wanted:
            if not parts or not lines:
                continue
            if sum(a for _l, a in lines) != sum(a for _k, a in parts):
                consistent = False
                break
            rows += [(k, kind, line, a, k in released) for k, line, a in _split(lines, parts)]
        if not consistent or not rows:
            continue
        counted = {}
        for _k, _kind, line, amount, was_released in rows:
            if not was_released:
                counted[line] = counted.get(line, 0) + amount
        room = {
            line.pk: line.paid_minor - line.refunded_minor
            for line in OrderLine.objects.filter(pk__in=counted)
        }
        if any(amount > room.get(line, 0) for line, amount in counted.items()):
            continue
        if LineRefund.objects.filter(key__in={k for k, *_rest in rows}).exists():
            continue
        LineRefund.objects.bulk_create(
            [
                LineRefund(
                    merchant_id=ret.merchant_id,
                    order_line_id=line,
                    key=key,
                    kind=kind,
                    reference=ret.number,
                    amount_minor=amount,
                    created_at=now,
                    released_at=now if was_released else None,
                )
                for key, kind, line, amount, was_released in rows
            ]
        )
        for line, amount in sorted(counted.items()):
            OrderLine.objects.filter(pk=line).update(refunded_minor=F("refunded_minor") + amount)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_line_refunds"),
        ("payments", "0002_bank_payouts"),
        ("wallet", "0001_initial"),
        ("returns", "0004_return_expiry_reminder_sent_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="returnitem",
            name="at_stake_minor",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="returnitem",
            name="decision_note",
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="return",
            name="status",
            field=models.CharField(
                choices=[
                    ("requested", "Requested"),
                    ("pending_review", "Pending review"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("in_transit", "In transit"),
                    ("delivered", "Delivered to the warehouse"),
                    ("received", "Received"),
                    ("in_review", "Received, money in review"),
                    ("completed", "Completed"),
                    ("cancelled", "Cancelled"),
                    ("expired", "Expired"),
                ],
                default="requested",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="returnitem",
            constraint=models.CheckConstraint(
                condition=models.Q(("at_stake_minor__gte", 0)),
                name="return_item_at_stake_not_negative",
            ),
        ),
        migrations.RunPython(count_money_already_sent, migrations.RunPython.noop, elidable=False),
    ]

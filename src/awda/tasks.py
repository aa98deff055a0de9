"""The job registry: which handlers run for which event, and the periodic jobs.

Every side effect of a fact fits on this screen. Handlers are idempotent per event (the
outbox records each handler/event pair once), and jobs take ids, never objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from awda.analytics import services as analytics
from awda.core import clock, outbox, ratelimit
from awda.core.errors import DomainError
from awda.core.models import Event
from awda.exchanges import selectors as exchange_selectors
from awda.exchanges import services as exchanges
from awda.integrations import services as stores
from awda.merchants.models import Merchant
from awda.notifications import services as notifications
from awda.orders.models import Customer
from awda.orders.services import record_customer_return
from awda.payments import services as payments
from awda.returns import photos as return_photos
from awda.returns import services as returns_services
from awda.shipping import services as shipping
from awda.wallet import services as wallet
from awda.warehouse import services as warehouse
from awda.webhooks import rules as webhook_rules
from awda.webhooks import services as webhooks


def count_return_in_customer_history(event: Event) -> None:
    """Keep the customer's return history current for the policy's customer conditions."""
    p = event.payload
    record_customer_return(
        customer_id=int(p["customer_id"]),
        units=int(p.get("units", 0)),
        value_minor=int(p.get("refund_total_minor", 0)),
    )


@outbox.outside_transaction
def email_return_confirmation(event: Event) -> None:
    """Confirm the return to the shopper by e-mail (when the customer has an address)."""
    notifications.send_return_confirmation(return_id=int(event.payload["return_id"]))


@outbox.outside_transaction
def email_order_link(event: Event) -> None:
    """The portal's "e-mail me a link": the signed order link, to the order's address."""
    notifications.send_order_link_for_event(
        order_id=int(event.payload["order_id"]),
        merchant_id=int(event.merchant_id or 0),
        language=str(event.payload.get("language", "")),
    )


@outbox.outside_transaction
def issue_label(event: Event) -> None:
    """An approved return gets its parcel: tracking number, label and QR from the carrier;
    a courier collection is booked when the shopper chose one."""
    return_id = int(event.payload["return_id"])
    shipping.issue_return_shipment(return_id=return_id)
    shipping.schedule_requested_pickup(return_id=return_id)


@outbox.outside_transaction
def email_shopper(event: Event) -> None:
    """Tell the shopper by e-mail where their return stands now (notifications.steps)."""
    notifications.send_step_email(event=event.name, payload=event.payload)


@outbox.outside_transaction
def text_shopper(event: Event) -> None:
    """The same step as a short text message, when the shopper has a phone number."""
    notifications.send_step_text(event=event.name, payload=event.payload)


def _send_refunds_together(events: Sequence[Event]) -> list[Event]:
    """A burst's refunds: claimed and marked sent together, one gateway adapter per account
    (payments.execute_refunds); an unknown outcome raises, and each event retries alone."""
    payments.execute_refunds(
        refund_ids=[int(i) for event in events for i in event.payload["refund_ids"]]
    )
    return []


@outbox.together(_send_refunds_together)
@outbox.outside_transaction
def send_refunds(event: Event) -> None:
    """Send each reserved part of a refund to its gateway; an unknown outcome raises, so the
    job retries and the next attempt reconciles before asking again."""
    for refund_id in event.payload["refund_ids"]:
        payments.execute_refund(refund_id=int(refund_id))


def _start_money_together(events: Sequence[Event]) -> list[Event]:
    """``start_money`` for a burst of events of one name (``outbox.dispatch_many``): their
    returns' money in one transaction, each return exactly as on its own."""
    left = set(
        returns_services.issue_resolutions_together(
            return_ids=[int(e.payload["return_id"]) for e in events], trigger=events[0].name
        )
    )
    return [e for e in events if int(e.payload["return_id"]) in left]


@outbox.together(_start_money_together)
def start_money(event: Event) -> None:
    """The fact the return's refund timing waits for: refund and store credit get going.

    A business refusal (a line's cap, payments that can't take it) would be refused again
    on every retry: the return goes to review instead and the job is done. Anything else
    (database, network) raises, so the job retries."""
    return_id = int(event.payload["return_id"])
    try:
        returns_services.issue_resolutions(return_id=return_id, trigger=event.name)
    except DomainError as error:
        # issue_resolutions' own transaction (a savepoint here) rolled back what it wrote.
        returns_services.hold_money_for_review(return_id=return_id, trigger=event.name, error=error)


def hold_refused_refund(event: Event) -> None:
    """The gateway refused a return's refund: the return goes before a person (the queue)."""
    p = event.payload
    returns_services.hold_refused_refund(
        merchant_id=int(event.merchant_id or 0),
        number=str(p["reference"]),
        message=str(p.get("message", "")),
        refund_id=int(p["refund_id"]),
    )


def note_refund_issued(event: Event) -> None:
    p = event.payload
    returns_services.record_refund_issued(
        merchant_id=int(event.merchant_id or 0),
        number=str(p["reference"]),
        amount_minor=int(p["amount_minor"]),
        currency=str(p["currency"]),
        card_last4=str(p.get("card_last4", "")),
    )


@outbox.outside_transaction
def email_refund_issued(event: Event) -> None:
    """Tell the shopper the refund reached their card, with the amount."""
    p = event.payload
    ret = notifications.return_by_number(
        merchant_id=int(event.merchant_id or 0), number=str(p["reference"])
    )
    if ret is not None:
        notifications.send_resolution_mail(
            ret=ret,
            kind="refund",
            amount_minor=int(p["amount_minor"]),
            currency=str(p["currency"]),
            detail=str(p.get("card_last4", "")),
        )


def note_transfer_paid(event: Event) -> None:
    p = event.payload
    returns_services.record_refund_issued(
        merchant_id=int(event.merchant_id or 0),
        number=str(p["reference"]),
        amount_minor=int(p["amount_minor"]),
        currency=str(p["currency"]),
        iban_last4=str(p.get("iban_last4", "")),
    )


@outbox.outside_transaction
def email_transfer_paid(event: Event) -> None:
    """Tell the shopper the bank transfer left, to the account ending …"""
    p = event.payload
    ret = notifications.return_by_number(
        merchant_id=int(event.merchant_id or 0), number=str(p["reference"])
    )
    if ret is not None:
        notifications.send_resolution_mail(
            ret=ret,
            kind="bank_transfer",
            amount_minor=int(p["amount_minor"]),
            currency=str(p["currency"]),
            detail=str(p.get("iban_last4", "")),
        )


@outbox.outside_transaction
def email_store_credit(event: Event) -> None:
    """Tell the shopper the store credit from their return is ready (bonus included), with
    the code to spend it when this grant opened their account."""
    p = event.payload
    ret = notifications.return_by_number(
        merchant_id=int(event.merchant_id or 0), number=str(p["reference"])
    )
    if ret is None or ret.customer_id != int(p["customer_id"]):
        return  # credit staff added by hand: no return to write about
    # A store that turns credit into Shopify gift cards: the card's code is the one to use
    # (the wallet keeps nothing of this credit once the card is made).
    code = stores.gift_card_for_credit(
        merchant_id=ret.merchant_id,
        reference=str(p["reference"]),
        transaction_id=int(p["transaction_id"]),
    )
    if not code and p.get("account_opened") and ret.customer.email:
        # Codes are stored only as hashes, so the one made with the account reached nobody:
        # the shopper's code is made here, just before it is mailed. A retry after the mail
        # went out makes and mails another; the newest mail's code is the one that works.
        code = wallet.rotate_code(
            merchant=ret.merchant,
            customer=ret.customer,
            currency=str(p["currency"]),
            actor="system",
        ).code
    notifications.send_resolution_mail(
        ret=ret,
        kind="store_credit",
        amount_minor=int(p["amount_minor"]) + int(p.get("bonus_minor", 0)),
        currency=str(p["currency"]),
        detail=code,
    )


@outbox.outside_transaction
def email_credit_expiring(event: Event) -> None:
    """Remind the shopper that unspent store credit expires soon (the reminder job's lots)."""
    p = event.payload
    notifications.send_credit_expiring(
        account_id=int(p["account_id"]), entry_ids=[int(i) for i in p["entries"]]
    )


def _none_ship_early(events: Sequence[Event]) -> list[Event]:
    """A burst of approvals: only the returns whose exchange may ship early have anything
    to do (one statement for all); those are left for one by one."""
    may = exchange_selectors.may_ship_early_of(
        return_ids=[int(e.payload["return_id"]) for e in events]
    )
    return [e for e in events if int(e.payload["return_id"]) in may]


@outbox.together(_none_ship_early)
def ship_instant_exchange(event: Event) -> None:
    """An approved return whose policy allows it: the replacement ships before the parcel
    comes back (if the customer passes the risk rule)."""
    returns_services.issue_instant_exchange(return_id=int(event.payload["return_id"]))


@outbox.outside_transaction
def act_on_rejected_items(event: Event) -> None:
    """Items the warehouse rejected go back to the shopper (a parcel) or stay, by policy."""
    if event.payload.get("rejected"):
        warehouse.act_on_rejected_items(return_id=int(event.payload["return_id"]))


@outbox.outside_transaction
def email_rejected_items(event: Event) -> None:
    """Tell the shopper which items were not accepted, why, and what becomes of them."""
    notifications.send_rejected_items(
        return_id=int(event.payload["return_id"]), payload=event.payload
    )


def check_exchange_originals(event: Event) -> None:
    """What arrived (or passed inspection): a replacement sent for items that didn't come
    back is charged or reviewed."""
    returns_services.note_exchange_originals(return_id=int(event.payload["return_id"]))


@outbox.outside_transaction
def send_exchange_payment_link(event: Event) -> None:
    """Ask the gateway for the link the shopper pays (a difference, or items not returned)."""
    exchanges.send_payment_link(payment_id=int(event.payload["payment_id"]))


@outbox.outside_transaction
def email_goodwill(event: Event) -> None:
    """Tell the customer what the store gave them as goodwill, with their wallet code when
    the grant opened their wallet (only its hash was kept: a new code is made just before
    it is mailed; a retry after the mail went out makes and mails another)."""
    p = event.payload
    code = ""
    if p.get("account_opened"):
        merchant = Merchant.objects.get(pk=int(event.merchant_id or 0))
        customer = Customer.objects.for_merchant(merchant).get(pk=int(p["customer_id"]))
        code = wallet.rotate_code(
            merchant=merchant, customer=customer, currency=str(p["currency"]), actor="system"
        ).code
    notifications.send_goodwill_granted(grant_id=int(p["grant_id"]), code=code)


@outbox.outside_transaction
def email_product_flagged(event: Event) -> None:
    """Tell the store's owners a product crossed the analytics' return-rate threshold."""
    notifications.send_product_flagged(
        merchant_id=int(event.merchant_id or 0), payload=event.payload
    )


@outbox.outside_transaction
def email_payment_link(event: Event) -> None:
    """Send the shopper the link to pay, with the amount (once per link: the event is)."""
    p = event.payload
    notifications.send_payment_link(
        return_id=int(p["return_id"]),
        purpose=str(p["purpose"]),
        amount_minor=int(p["amount_minor"]),
        currency=str(p["currency"]),
        url=str(p["url"]),
    )


_EXCHANGE_STEPS: Mapping[str, str] = {
    "ExchangePaymentLinkSent": "exchange_payment_link",
    "ExchangeDifferencePaid": "exchange_difference_paid",
    "ExchangeCharged": "exchange_charged",
    "ExchangeNeedsReview": "exchange_review",
}


def note_exchange_step(event: Event) -> None:
    """An exchange's step on its return's timeline, where the status page tells the shopper."""
    p = event.payload
    returns_services.add_timeline_entry(
        return_id=int(p["return_id"]),
        merchant_id=int(event.merchant_id or 0),
        kind=_EXCHANGE_STEPS[event.name],
        at=event.created_at,
        actor="system",
        data={
            key: p[key]
            for key in ("purpose", "amount_minor", "currency", "url", "reason")
            if key in p
        },
    )


@outbox.outside_transaction
def email_exchange_issued(event: Event) -> None:
    """Tell the shopper their replacement is on its way (once paid, for a dearer one)."""
    p = event.payload
    if event.name == "ExchangeIssued" and p.get("difference_handling") == "charge_link":
        return  # held until paid: the mail goes with ExchangeDifferencePaid
    view = exchange_selectors.exchange_for_return(return_id=int(p["return_id"]))
    if view is None:
        return
    notifications.send_resolution_issued(
        return_id=int(p["return_id"]),
        kind="exchange",
        amount_minor=view.replacement_value_minor,
        currency=view.currency,
        detail=view.replacement_order_number,
    )


def _events_to_deliver(events: Sequence[Event]) -> list[Event]:
    """A burst of one event: only those a subscription wants get deliveries (one statement
    for all); those are left for one by one."""
    return webhooks.events_to_deliver(events=events)


@outbox.together(_events_to_deliver)
def queue_webhooks(event: Event) -> None:
    """A delivery per subscription wanting the event's public name (once per event: the
    database refuses a second); posting happens in jobs after commit."""
    webhooks.record_deliveries(event=event)


@outbox.outside_transaction
def email_webhook_disabled(event: Event) -> None:
    """Tell the store's owners that a webhook kept failing and was switched off."""
    webhooks.email_owners_disabled(
        subscription_id=int(event.payload["subscription_id"]),
        failures=int(event.payload.get("failures", 0)),
    )


def _refunds_to_push(events: Sequence[Event]) -> list[Event]:
    """A burst of refunds: only those of a connected store's orders go to the store (one
    statement for all); those are left for one by one, outside a transaction."""
    wanted = stores.refunds_to_push(refund_ids=[int(e.payload["refund_id"]) for e in events])
    return [e for e in events if int(e.payload["refund_id"]) in wanted]


@outbox.together(_refunds_to_push)
@outbox.outside_transaction
def push_refund_to_store(event: Event) -> None:
    """A refund Awda paid on a store's order is recorded in the store (items, amount)."""
    stores.push_refund(refund_id=int(event.payload["refund_id"]))


@outbox.outside_transaction
def push_restock_to_store(event: Event) -> None:
    """Units the warehouse restocked go back into the store's stock (restocks only)."""
    p = event.payload
    stores.push_restock(
        merchant_id=int(event.merchant_id or 0),
        move_id=int(p["move_id"]),
        sku=str(p.get("sku", "")),
        quantity=int(p.get("quantity", 0)),
        reason=str(p.get("reason", "")),
    )


@outbox.outside_transaction
def tag_order_in_store(event: Event) -> None:
    """The store's order is tagged with the return (staff there see it at once)."""
    stores.note_return_in_store(return_id=int(event.payload["return_id"]))


def _returns_to_push(events: Sequence[Event]) -> list[Event]:
    """A burst of approvals: only returns of a connected Shopify store's orders go to the
    store (one statement for all); those are left for one by one, outside a transaction."""
    wanted = stores.returns_to_push(return_ids=[int(e.payload["return_id"]) for e in events])
    return [e for e in events if int(e.payload["return_id"]) in wanted]


@outbox.together(_returns_to_push)
@outbox.outside_transaction
def push_return_to_store(event: Event) -> None:
    """An approved return of a Shopify order becomes Shopify's own Return object."""
    stores.push_return(return_id=int(event.payload["return_id"]))


@outbox.outside_transaction
def push_replacement_to_store(event: Event) -> None:
    """An exchange's replacement order is made in the store it replaces an order of (a note
    on the original where the store's API can't make it); a held one once it is released."""
    stores.push_replacement_order(order_id=int(event.payload["order_id"]))


@outbox.outside_transaction
def push_credit_to_store(event: Event) -> None:
    """Store credit becomes a Shopify gift card for connections that opted in."""
    p = event.payload
    expires = p.get("expires_at")
    stores.push_store_credit(
        merchant_id=int(event.merchant_id or 0),
        account_id=int(p["account_id"]),
        transaction_id=int(p["transaction_id"]),
        amount_minor=int(p["amount_minor"]) + int(p.get("bonus_minor", 0)),
        currency=str(p["currency"]),
        reference=str(p.get("reference", "")),
        expires_at=datetime.fromisoformat(expires) if expires else None,
    )


@outbox.outside_transaction
def backfill_store_orders(event: Event) -> None:
    """Page through the store's orders of the last days and import each (idempotent)."""
    stores.backfill(
        connection_id=int(event.payload["connection_id"]), days=int(event.payload["days"])
    )


HANDLERS: Mapping[str, Sequence[Callable[[Event], None]]] = {
    "ReturnRequested": [
        count_return_in_customer_history,
        email_return_confirmation,
        tag_order_in_store,
    ],
    "ReturnApproved": [issue_label, start_money, ship_instant_exchange, push_return_to_store],
    "OrderLinkRequested": [email_order_link],
    "RefundRequested": [send_refunds],
    "RefundIssued": [note_refund_issued, email_refund_issued, push_refund_to_store],
    "RefundNeedsReview": [hold_refused_refund],
    "GoodwillGranted": [email_goodwill],
    "BankTransferPaid": [note_transfer_paid, email_transfer_paid],
    "StoreCreditGranted": [email_store_credit, push_credit_to_store],
    "StoreCreditExpiring": [email_credit_expiring],
    "LabelIssued": [email_shopper, text_shopper],
    "PickupScheduled": [email_shopper, text_shopper],
    "FirstScanRecorded": [start_money, email_shopper, text_shopper],
    "ParcelDelivered": [start_money, email_shopper, text_shopper],
    "ReturnReceived": [email_shopper, text_shopper, check_exchange_originals],
    # The shopper hears about the money itself (RefundIssued…) and about rejected items once
    # the warehouse has acted on them (RejectedItemsHandled).
    "ReturnInspected": [start_money, check_exchange_originals, act_on_rejected_items],
    "RejectedItemsHandled": [email_rejected_items],
    "ReturnRejected": [email_shopper, text_shopper],
    "ReturnExpiring": [email_shopper, text_shopper],
    "ReturnExpired": [email_shopper, text_shopper],
    # Exchanges (the returned items' stock was released or charged with the status change).
    "ExchangeIssued": [email_exchange_issued],
    "ExchangePaymentRequested": [send_exchange_payment_link],
    "ExchangePaymentLinkSent": [note_exchange_step, email_payment_link],
    "ExchangeDifferencePaid": [note_exchange_step, email_exchange_issued],
    "ExchangeCharged": [note_exchange_step],
    "ExchangeNeedsReview": [note_exchange_step],
    # Store connectors (integrations): restocks back to the store, backfills, the exchange's
    # order in the store (a held one once released), store credit as Shopify gift cards.
    "StockMoved": [push_restock_to_store],
    "ReplacementOrderCreated": [push_replacement_to_store],
    "ReplacementOrderReleased": [push_replacement_to_store],
    "StoreBackfillRequested": [backfill_store_orders],
    # Later issues subscribe here: payments (notifications.send_resolution_issued).
    "WebhookSubscriptionDisabled": [email_webhook_disabled],
    "ProductFlagged": [email_product_flagged],
}

# Outbound webhooks: every internal event with a public name (webhooks.rules.EVENT_TYPES)
# also queues its deliveries.
HANDLERS = {
    **HANDLERS,
    **{name: [*HANDLERS.get(name, ()), queue_webhooks] for name in webhook_rules.PUBLIC_NAME_FOR},
}


class DispatchIncomplete(Exception):
    """A handler failed; raising makes huey retry the job later."""


@db_task(retries=8, retry_delay=15)
def dispatch_event(event_id: str) -> None:
    if not outbox.dispatch(event_id, HANDLERS).complete:
        raise DispatchIncomplete(event_id)


@db_task(retries=8, retry_delay=15)
def dispatch_events(event_ids: list[str]) -> None:
    """The events one transaction wrote; a retry skips those already complete."""
    incomplete = outbox.dispatch_many(event_ids, HANDLERS)
    if incomplete:
        raise DispatchIncomplete(", ".join(incomplete))


# Money first: the events whose handlers issue refunds, store credit and transfers are taken
# from the queue before the others, so a burst of approvals or scans moves the money at the
# rate the workers can issue it; what tells people about it (mails, timeline notes, store
# pushes, webhooks) follows as soon as the money has gone. On Redis they also wait in a
# list that each money job empties up to MONEY_BATCH at a time: a burst is dispatched in
# batches (``outbox.dispatch_many``), its money issued together (bench/README.md,
# "Resolutions").
MONEY_FIRST = frozenset(
    {
        "ReturnApproved",
        "FirstScanRecorded",
        "ParcelDelivered",
        "ReturnInspected",
        "RefundRequested",
    }
)
MONEY_PRIORITY = 10
MONEY_BATCH = 20
MONEY_BATCHES_PER_JOB = 25


def enqueue_event(event_ids: Sequence[str], names: Sequence[str] = ()) -> None:
    """Hand the events of a committed transaction to the queue (the outbox calls this with
    each event's name): those that move money first, the others in a job of their own."""
    money = [i for i, name in zip(event_ids, names, strict=False) if name in MONEY_FIRST]
    taken = set(money)
    others = [i for i in event_ids if i not in taken]
    if others:
        dispatch_events(others)
    if not money:
        return
    redis = _money_list()
    if redis is None:
        dispatch_events(money, priority=MONEY_PRIORITY)
        return
    redis.rpush(_money_key(), *money)
    dispatch_money(priority=MONEY_PRIORITY)


def _money_list() -> Any:
    """The Redis connection behind the job queue, or None (SQLite's queue, immediate mode)."""
    from huey.contrib.djhuey import HUEY
    from huey.storage import RedisStorage

    storage = HUEY.storage
    return storage.conn if isinstance(storage, RedisStorage) else None


def _money_key() -> str:
    from huey.contrib.djhuey import HUEY

    return f"{HUEY.name}.money-events"


@db_task(retries=8, retry_delay=15)
def dispatch_money() -> None:
    """Dispatch the money events waiting in the list, MONEY_BATCH together, until the list
    is empty. Each push enqueued one of these jobs, so a burst is shared among the workers,
    and a job that finds the list empty (others took its events) is done; after
    MONEY_BATCHES_PER_JOB batches a job hands over to a new one, so other jobs get a turn.
    Events that did not complete go to their own retried job; a worker that dies holding a
    batch leaves its events undispatched for the outbox sweep."""
    redis = _money_list()
    if redis is None:
        return
    for _batch in range(MONEY_BATCHES_PER_JOB):
        taken = redis.lpop(_money_key(), MONEY_BATCH) or ()
        if not taken:
            return
        ids = [i.decode() if isinstance(i, bytes) else str(i) for i in taken]
        incomplete = outbox.dispatch_many(ids, HANDLERS)
        if incomplete:
            dispatch_events.schedule((incomplete,), delay=15)
    dispatch_money(priority=MONEY_PRIORITY)


@db_periodic_task(crontab(minute="*"))
def sweep_outbox() -> None:
    """Re-enqueue events whose dispatch was lost (e.g. a crash right after commit)."""
    for event_id in outbox.undispatched_event_ids(older_than=timedelta(seconds=30)):
        dispatch_event(event_id)


@db_periodic_task(crontab(minute="*/10"))
def expire_unshipped_returns() -> None:
    returns_services.expire_unshipped_returns()


@db_periodic_task(crontab(minute="47"))
def remind_unshipped_returns() -> None:
    """Remind shoppers whose approved return expires within two days that it still waits for
    its parcel (once per return)."""
    returns_services.remind_unshipped_returns()


@db_periodic_task(crontab(minute="7"))
def sweep_unattached_photos() -> None:
    """Delete photos uploaded for returns that were never submitted (after a day)."""
    return_photos.delete_unattached_photos(older_than=timedelta(hours=24))


@db_periodic_task(crontab(minute="37"))
def sweep_rate_counters() -> None:
    """Forget rate-limit windows older than a day (they only ever grow otherwise)."""
    ratelimit.forget_before(clock.now() - timedelta(days=1))


@db_periodic_task(crontab(minute="17"))
def reconcile_refunds() -> None:
    """Compare the last days' refunds with the gateways' own records: settle what finished
    there, put what disagrees into review (payments.services.reconcile_refunds)."""
    payments.reconcile_refunds()


# Store credit: batches of accounts, one transaction each; a run stops when a batch finds
# nothing more, so a backlog clears in one run without one transaction holding it all.
_CREDIT_BATCH = 500
_CREDIT_BATCHES_PER_RUN = 20
CREDIT_REMINDER_DAYS = 7


@db_periodic_task(crontab(minute="23"))
def expire_store_credit() -> None:
    """Write off unspent store credit past its expiry (each lot once: the database refuses
    a second expiry of the same entry)."""
    for _batch in range(_CREDIT_BATCHES_PER_RUN):
        if not wallet.expire_store_credit(limit=_CREDIT_BATCH):
            break


@db_periodic_task(crontab(minute="53"))
def remind_expiring_store_credit() -> None:
    """Tell shoppers whose store credit expires within a week (each lot once)."""
    for _batch in range(_CREDIT_BATCHES_PER_RUN):
        if not wallet.remind_expiring_store_credit(
            within=timedelta(days=CREDIT_REMINDER_DAYS), limit=_CREDIT_BATCH
        ):
            break


@db_task(retries=8, retry_delay=15)
def process_carrier_webhook(webhook_id: int) -> None:
    shipping.process_carrier_webhook(webhook_id=webhook_id)


def enqueue_carrier_webhook(webhook_id: int) -> None:
    """Hand a stored carrier webhook to the queue (the shipping service calls this)."""
    process_carrier_webhook(webhook_id)


@db_periodic_task(crontab(minute="*"))
def sweep_carrier_webhooks() -> None:
    """Process stored carrier webhooks whose job was lost between commit and enqueue."""
    for webhook_id in shipping.pending_webhook_ids(older_than_seconds=60):
        process_carrier_webhook(webhook_id)


@db_task(retries=8, retry_delay=15)
def process_gateway_webhook(webhook_id: int) -> None:
    exchanges.process_payment_webhook(webhook_id=webhook_id)


def enqueue_gateway_webhook(webhook_id: int) -> None:
    """Hand a stored payment gateway webhook to the queue (the payments service calls this)."""
    process_gateway_webhook(webhook_id)


@db_periodic_task(crontab(minute="*"))
def sweep_gateway_webhooks() -> None:
    """Process stored gateway webhooks whose job was lost between commit and enqueue."""
    for webhook_id in payments.pending_gateway_webhook_ids(older_than_seconds=60):
        process_gateway_webhook(webhook_id)


@db_task(retries=2, retry_delay=30)
def deliver_webhooks(delivery_ids: list[int]) -> None:
    """First attempts of new deliveries; a failure is scheduled by the delivery itself (its
    ``next_attempt_at``), so the job never needs a retry of its own for it."""
    for delivery_id in delivery_ids:
        webhooks.attempt_delivery(delivery_id=delivery_id)


def enqueue_webhook_deliveries(delivery_ids: Sequence[int]) -> None:
    """Hand new deliveries to the queue after commit (the webhooks service calls this)."""
    deliver_webhooks(list(delivery_ids))


@db_periodic_task(crontab(minute="*"))
def sweep_webhook_deliveries() -> None:
    """Send every delivery whose retry is due (or whose first job was lost): the schedule
    lives in the rows, so it survives restarts and a lost job store."""
    for delivery_id in webhooks.due_delivery_ids():
        deliver_webhooks([delivery_id])


@db_periodic_task(crontab(minute="*/15"))
def poll_tracking() -> None:
    """Ask carriers without webhooks where open parcels are (each at most hourly)."""
    shipping.poll_tracking()


@db_periodic_task(crontab(minute="41"))
def refresh_analytics() -> None:
    """Rebuild every merchant's analytics rollups for the last days (late refunds, cancelled
    returns) and alert on products newly returned too often (``ProductFlagged``)."""
    analytics.refresh_recent_rollups()


@db_task(retries=8, retry_delay=15)
def process_store_webhook(webhook_id: int) -> None:
    stores.process_store_webhook(webhook_id=webhook_id)


def enqueue_store_webhook(webhook_id: int) -> None:
    """Hand a stored store webhook to the queue (the integrations service calls this)."""
    process_store_webhook(webhook_id)


@db_periodic_task(crontab(minute="*"))
def sweep_store_webhooks() -> None:
    """Process stored store webhooks whose job was lost between commit and enqueue."""
    for webhook_id in stores.pending_webhook_ids(older_than_seconds=60):
        process_store_webhook(webhook_id)

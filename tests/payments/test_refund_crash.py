"""A refund worker killed mid-refund (SIGKILL, a real process) leaves exactly one refund.

The far side is a fake Stripe run by the test (a thread with ``http.server``) that answers as
Stripe does, with stripe-mock's recorded Refund object: ``POST /v1/refunds`` honours
``Idempotency-Key`` (the same key gets the first answer, never a second refund), and
``GET /v1/refunds?payment_intent=…`` lists the payment's refunds, which is how the adapter's
``find_refund`` recognises ours by the key kept in its metadata. The worker is
``tests/payments/refund_worker.py`` in a child process on the test database; it kills itself
with SIGKILL at the point under test, or the test kills it while Stripe holds its answer.
PostgreSQL only: the child needs the committed rows of a real server (``transaction=True``).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.conf import settings
from huey.contrib.djhuey import HUEY

from awda.core import clock
from awda.core.models import Event
from awda.core.money import Money
from awda.orders.models import Payment
from awda.payments import services
from awda.payments.models import Refund, RefundStatus
from tests import factories
from tests.worker.test_outbox_worker import _database_url

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "shared" / "stripe-mock" / "fixtures3.json"
SECRET_KEY = "sk_test_awda_crash"
PI = "pi_3PcrashB7WZ01zgkW0a1b2c3d"
AMOUNT = 12_345


class FakeStripe(ThreadingHTTPServer):
    """Stripe's refund endpoints, kept in memory: what the gateway holds is ``refunds``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StripeHandler)
        self.lock = threading.Lock()
        self.template = json.loads(FIXTURES.read_text(encoding="utf-8"))["resources"]["refund"]
        self.refunds: list[dict[str, Any]] = []  # oldest first
        self.answers: dict[str, tuple[dict[str, str], dict[str, Any]]] = {}  # by key
        self.posts = 0
        self.ids = itertools.count(1)
        # hold: make the refund, then keep the answer until ``release`` (or the client dies).
        self.hold = False
        self.received = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def create(self, form: dict[str, str], key: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.posts += 1
            if key in self.answers:
                first_form, answer = self.answers[key]
                if first_form != form:
                    return 400, _error(
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same"
                        " parameters they were first used with.",
                    )
                return 200, answer  # Stripe replays the first answer: no second refund
            refund = copy.deepcopy(self.template)
            refund.update(
                id=f"re_3Pcrash{next(self.ids):06d}",
                amount=int(form["amount"]),
                currency="sar",
                payment_intent=form.get("payment_intent"),
                charge=form.get("charge"),
                created=int(time.time()),
                reason=form.get("reason"),
                status="succeeded",
                metadata={
                    k[len("metadata[") : -1]: v
                    for k, v in form.items()
                    if k.startswith("metadata[")
                },
            )
            self.refunds.append(refund)
            if key:
                self.answers[key] = (form, refund)
            return 200, refund

    def listed(self, query: dict[str, str]) -> dict[str, Any]:
        target = query.get("payment_intent") or query.get("charge")
        with self.lock:
            data = [
                r for r in reversed(self.refunds) if target in (r["payment_intent"], r["charge"])
            ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}

    def fetched(self, refund_id: str) -> dict[str, Any] | None:
        with self.lock:
            return next((r for r in self.refunds if r["id"] == refund_id), None)


class _StripeHandler(BaseHTTPRequestHandler):
    server: FakeStripe

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except OSError:
            pass  # the client died waiting (the in-flight kill)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {SECRET_KEY}":
            return True
        self._answer(401, _error("invalid_api_key", "Invalid API Key provided"))
        return False

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        if not self._authorised():
            return
        if urlsplit(self.path).path != "/v1/refunds":
            self._answer(404, _error("resource_missing", "Unrecognized request URL"))
            return
        status, body = self.server.create(form, self.headers.get("Idempotency-Key", ""))
        if self.server.hold:
            self.server.received.set()
            self.server.release.wait(timeout=60)
        self._answer(status, body)

    def do_GET(self) -> None:
        if not self._authorised():
            return
        parts = urlsplit(self.path)
        if parts.path == "/v1/refunds":
            self._answer(200, self.server.listed(dict(parse_qsl(parts.query))))
            return
        found = None
        if parts.path.startswith("/v1/refunds/"):
            found = self.server.fetched(parts.path.rsplit("/", 1)[1])
        if found is None:
            self._answer(404, _error("resource_missing", f"No such refund: {parts.path}"))
            return
        self._answer(200, found)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "code": code, "message": message}}


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    server = FakeStripe()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _empty_queue() -> Iterator[None]:
    # The workers queue RefundIssued's dispatch after commit; nothing consumes it here.
    HUEY.flush()
    yield
    HUEY.flush()


def _reserved_refund(stripe: FakeStripe) -> Refund:
    merchant = factories.merchant()
    services.connect_gateway(
        merchant=merchant,
        gateway="stripe",
        name="Stripe (fake)",
        settings={"secret_key": SECRET_KEY, "base_url": stripe.url},
    )
    order = factories.order(merchant, lines=[factories.line("1", quantity=1, price=20000)])
    Payment.objects.filter(order=order).update(gateway="stripe", reference=PI)
    (refund,) = services.request_refund(
        merchant=merchant,
        order_id=order.pk,
        amount=Money(AMOUNT, "SAR"),
        idempotency_key="return-crash-refund",
        reference="R-CRASH-1",
    )
    return refund


def _worker(mode: str, refund: Refund) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "AWDA_DATABASE_URL": _database_url(),
        "AWDA_DATA_DIR": str(settings.DATA_DIR),  # the same secret key: account settings decrypt
        "AWDA_REDIS_URL": settings.REDIS_URL,
        "AWDA_DB_POOL": "false",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.payments.refund_worker", mode, str(refund.pk)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(worker: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = worker.communicate(timeout=120)
    return worker.returncode, out + err


def _claim_runs_out(refund: Refund) -> None:
    """What waiting CLAIM_SECONDS does: the dead worker's claim has passed."""
    Refund.objects.filter(pk=refund.pk).update(claimed_until=clock.now() - timedelta(seconds=1))


def _retry_and_check_exactly_one_refund(stripe: FakeStripe, refund: Refund) -> None:
    code, output = _finish(_worker("retry", refund))
    assert code == 0, output

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED, output
    assert len(stripe.refunds) == 1
    (at_stripe,) = stripe.refunds
    assert refund.gateway_refund_id == at_stripe["id"]
    assert at_stripe["amount"] == AMOUNT and at_stripe["payment_intent"] == PI
    assert at_stripe["metadata"]["awda_idempotency_key"] == refund.idempotency_key
    assert Event.objects.filter(name="RefundIssued").count() == 1
    assert Payment.objects.get(pk=refund.payment_id).refunded_minor == AMOUNT


def test_a_worker_killed_after_stripe_answered_leaves_one_refund_after_the_retry(stripe):
    refund = _reserved_refund(stripe)

    code, output = _finish(_worker("after_answer", refund))

    assert code == -signal.SIGKILL, output
    assert len(stripe.refunds) == 1 and stripe.posts == 1  # Stripe refunded ...
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT  # ... and we never wrote down its answer
    assert refund.gateway_refund_id == "" and refund.attempts == 1
    assert not Event.objects.filter(name="RefundIssued").exists()
    # While the dead worker's claim holds, another worker leaves the refund alone.
    assert services.execute_refund(refund_id=refund.pk).status == RefundStatus.SENT
    assert stripe.posts == 1

    _claim_runs_out(refund)
    _retry_and_check_exactly_one_refund(stripe, refund)
    refund.refresh_from_db()
    # Found by its key in Stripe's list, not asked for again.
    assert stripe.posts == 1 and refund.attempts == 1


def test_a_worker_killed_before_its_request_left_leaves_one_refund_after_the_retry(stripe):
    refund = _reserved_refund(stripe)

    code, output = _finish(_worker("before_request", refund))

    assert code == -signal.SIGKILL, output
    assert stripe.refunds == [] and stripe.posts == 0
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT  # marked before the call, so the retry looks

    _claim_runs_out(refund)
    _retry_and_check_exactly_one_refund(stripe, refund)
    refund.refresh_from_db()
    # Stripe had no refund with the key, so the retry asked once, with the same key.
    assert stripe.posts == 1 and refund.attempts == 2


def test_a_worker_killed_while_stripe_held_its_answer_leaves_one_refund_after_the_retry(stripe):
    refund = _reserved_refund(stripe)
    stripe.hold = True
    worker = _worker("retry", refund)  # a worker with no planned death: it is killed from here

    assert stripe.received.wait(timeout=60), "the worker's request never reached Stripe"
    os.kill(worker.pid, signal.SIGKILL)
    code, output = _finish(worker)
    stripe.hold = False
    stripe.release.set()

    assert code == -signal.SIGKILL, output
    assert len(stripe.refunds) == 1 and stripe.posts == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT

    _claim_runs_out(refund)
    _retry_and_check_exactly_one_refund(stripe, refund)
    assert stripe.posts == 1

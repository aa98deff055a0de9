"""End to end: `awda demo` as a user starts it (Granian web + huey worker, embedded SQLite),
driven over HTTP — the issue's "Must show" walk-through."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.embedded_only

EXAMPLE: list[str] = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    data_dir = tmp_path_factory.mktemp("demo")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWDA_")}
    env["AWDA_DATA_DIR"] = str(data_dir)
    log = (data_dir / "demo.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "awda.cli", "demo", "--orders", "120", "--port", str(port),
         "--web-workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"awda demo exited early:\n{log.read()}")
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(up, 240, "the demo server")
        log.seek(0)
        printed = log.read()
        key = re.search(r"API key:\s+(awda_\S+)", printed)
        assert key, "the demo printed no API key"
        example = re.search(r"/orders/(\S+)/returnable-lines", printed)
        assert example, "the demo printed no example order"
        EXAMPLE.append(example.group(1))
        yield base, key.group(1), data_dir
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _client(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {key}"})


def _returnable_order(api: httpx.Client) -> tuple[str, dict]:
    """An order of the demo store with a returnable line (the demo prints one too)."""
    # The printed example first, then the newest orders (the demo numbers them by date).
    for number in [*EXAMPLE, *(str(10120 - i) for i in range(60))]:
        response = api.get(f"/orders/{number}/returnable-lines")
        if response.status_code != 200:
            continue
        for line in response.json()["lines"]:
            if line["returnable"] and line["returnable_quantity"] >= 1:
                return number, line
    pytest.fail("no demo order with a returnable line")


def test_the_demo_answers_the_api_with_explained_lines_and_refuses_a_too_large_return(demo):
    base, key, _data = demo
    api = _client(base, key)
    assert httpx.get(f"{base}/api/v1/docs").status_code == 200
    number, line = _returnable_order(api)
    every = api.get(f"/orders/{number}/returnable-lines").json()["lines"]
    assert all(li["explanation"]["en"] and li["explanation"]["ar"] for li in every)

    too_many = api.post(
        "/returns",
        json={"order_number": number, "method": "label",
              "items": [{"line_ref": line["line_ref"], "quantity": line["returnable_quantity"] + 1,
                         "reason": "changed_my_mind"}]},
    )  # fmt: skip
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "quantity_exceeds_returnable"


def test_a_valid_return_gets_a_number_status_quote_and_its_events_are_dispatched(demo):
    base, key, data_dir = demo
    api = _client(base, key)
    number, line = _returnable_order(api)
    created = api.post(
        "/returns",
        json={"order_number": number, "method": "qr_dropoff",
              "items": [{"line_ref": line["line_ref"], "quantity": 1, "reason": "too_large"}]},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    assert re.fullmatch(r"R-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}", body["number"])
    assert body["status"] in {"approved", "pending_review"}
    assert body["quote"]["refund_total"] >= 0
    assert body["timeline"][0]["to_status"] == "requested"

    db = sqlite3.connect(data_dir / "awda.sqlite3")
    try:

        def dispatched() -> bool:
            rows = db.execute(
                "SELECT e.name, e.dispatched_at FROM core_event e JOIN returns_return r "
                "ON e.aggregate_type = 'return' AND e.aggregate_id = CAST(r.id AS TEXT) "
                "WHERE r.number = ?",
                (body["number"],),
            ).fetchall()
            return bool(rows) and all(at is not None for _name, at in rows)

        _wait(dispatched, 60, "the worker to dispatch the return's events")
    finally:
        db.close()


def test_the_printed_staff_login_opens_the_admin(demo):
    base, _key, _data = demo
    with httpx.Client(base_url=base) as web:
        web.get("/admin/login/")
        response = web.post(
            "/admin/login/?next=/admin/",
            data={
                "username": "owner",
                "password": "awda-demo-2026",
                "csrfmiddlewaretoken": web.cookies["csrftoken"],
                "next": "/admin/",
            },
            headers={"Referer": f"{base}/admin/login/"},
        )
        assert response.status_code == 302, response.text[:500]
        page = web.get("/admin/returns/return/")
        assert page.status_code == 200

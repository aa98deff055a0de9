"""Webhooks' pure rules: signatures, the retry schedule, which URLs and addresses a delivery
may reach, and what a public payload leaves out."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest

from awda.webhooks import rules
from tests.webhooks.snippet import documented_verifier

SECRET = "whsec_test-secret"


def test_a_signature_checks_out_with_the_documented_snippet():
    body = b'{"id":"whd_1","type":"return.approved","data":{"return_number":"R-7K3M-Q9"}}'
    now = int(time.time())
    header = rules.signature_header(SECRET, now, body)
    assert documented_verifier()(SECRET, header, body)


def test_the_documented_snippet_refuses_another_body_secret_or_an_old_timestamp():
    verify = documented_verifier()
    body = b'{"id":"whd_1"}'
    now = int(time.time())
    header = rules.signature_header(SECRET, now, body)
    assert not verify(SECRET, header, body + b" ")
    assert not verify("whsec_other", header, body)
    old = rules.signature_header(SECRET, now - 3600, body)
    assert not verify(SECRET, old, body)
    assert not verify(SECRET, "v1=abc", body)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert rules.signature_header("k", 1700000000, b"{}") == f"t=1700000000,v1={expected}"


def test_retries_wait_longer_each_time_and_stop_after_eight_attempts():
    low = [rules.retry_delay(n, rand=lambda: 0.0) for n in range(1, rules.MAX_ATTEMPTS)]
    assert low[0] == timedelta(minutes=1)
    assert low[-1] == timedelta(hours=24)
    assert all(a is not None and b is not None and a < b for a, b in itertools.pairwise(low))
    assert rules.retry_delay(rules.MAX_ATTEMPTS, rand=lambda: 0.0) is None
    assert rules.MAX_ATTEMPTS == 8


def test_jitter_adds_at_most_a_fifth_of_the_wait():
    assert rules.retry_delay(2, rand=lambda: 0.999) < timedelta(minutes=6)
    assert rules.retry_delay(2, rand=lambda: 0.5) == timedelta(minutes=5.5)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "https_required"),
        ("ftp://hooks.example.com/x", "malformed"),
        ("https://", "malformed"),
        ("not a url", "malformed"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://169.254.169.254/latest/meta-data/", "private_address"),
        ("https://10.0.0.1/hook", "private_address"),
        ("https://192.168.1.20/hook", "private_address"),
        ("https://[fd00::1]/hook", "private_address"),
        ("https://[::ffff:10.0.0.1]/hook", "private_address"),
        ("https://0.0.0.0/hook", "private_address"),
        ("https://metadata.google.internal/", "private_address"),
        ("http://localhost:8000/hook", "private_address"),
        ("https://127.0.0.1/hook", "private_address"),
    ],
)
def test_urls_outside_the_public_https_internet_are_refused(url, reason):
    with pytest.raises(rules.UrlRefused) as refused:
        rules.check_url(url, allow_local=False)
    assert refused.value.reason == reason


def test_localhost_is_accepted_only_when_local_endpoints_are_allowed():
    assert rules.check_url("http://127.0.0.1:9000/hook", allow_local=True) == "127.0.0.1"
    assert rules.check_url("http://localhost/hook", allow_local=True) == "localhost"
    with pytest.raises(rules.UrlRefused):
        rules.check_url("http://10.0.0.1/hook", allow_local=True)  # still a private network


def test_a_public_https_url_is_accepted():
    assert rules.check_url("https://Hooks.Example.com/awda?x=1", allow_local=False) == (
        "hooks.example.com"
    )


@pytest.mark.parametrize("address", ["169.254.169.254", "10.1.2.3", "172.16.0.5", "::1", "fe80::1"])
def test_addresses_a_name_resolves_to_inside_a_network_are_refused(address):
    with pytest.raises(rules.UrlRefused):
        rules.check_address(address, allow_local=False)


def test_every_public_name_has_a_payload_builder_and_a_unique_source():
    sources = [s for t in rules.EVENT_TYPES for s in t.sources]
    assert len(sources) == len(set(sources))
    assert len(rules.PUBLIC_NAMES) == len(rules.EVENT_TYPES)


def test_a_bank_transfer_is_announced_without_any_part_of_the_iban():
    data = rules.public_data(
        "BankTransferPaid",
        {
            "payout_id": 7,
            "reference": "PO-1",
            "amount_minor": 5000,
            "currency": "SAR",
            "iban_last4": "7519",
        },
    )
    assert data == {
        "reference": "PO-1",
        "amount_minor": 5000,
        "currency": "SAR",
        "method": "bank_transfer",
    }


def test_fields_added_to_an_internal_payload_later_are_not_published():
    data = rules.public_data(
        "ReturnApproved",
        {"return_id": 1, "number": "R-AAAA-BB", "status": "approved", "secret": "x"},
    )
    assert data == {"return_number": "R-AAAA-BB", "status": "approved"}

"""A refund worker in a process of its own, for tests/payments/test_refund_crash.py.

``python -m tests.payments.refund_worker MODE REFUND_ID`` sets Django up against the database
in ``AWDA_DATABASE_URL`` (the test database), then runs ``execute_refund`` once, as the job
does. MODE says where the process dies, by SIGKILL to itself (no ``finally``, no ``atexit``,
no rollback message to the server: the connection just drops):

- ``after_answer``: the gateway answered; killed before ``_settle`` commits what it said.
- ``before_request``: the row was marked ``sent`` and committed; killed before the request
  leaves for the gateway.
- ``retry``: nothing is killed (the worker that takes the refund up again).

Prints the refund's status when it lives to the end.
"""

from __future__ import annotations

import os
import signal
import sys

import django


def _die(*_args: object, **_kwargs: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(mode: str, refund_id: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
    django.setup()
    from awda.payments import services
    from awda.payments.gateways.stripe import StripeGateway

    if mode == "after_answer":
        # execute_refund looks _settle up in the module when it calls it.
        services._settle = _die  # type: ignore[assignment]
    elif mode == "before_request":
        StripeGateway.refund = _die  # type: ignore[assignment,method-assign]
    elif mode != "retry":
        raise SystemExit(f"unknown mode {mode!r}")
    refund = services.execute_refund(refund_id=refund_id)
    print(refund.status, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

"""``awda run``: migrate, then serve the web app (Granian) and the job worker (huey)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


def serve(*, host: str, port: int, web_workers: int, stdout: Any) -> int:
    """Run Granian and the huey consumer as children until one stops or we are told to."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "awda.settings"}
    web = [
        sys.executable, "-m", "granian",
        "--interface", "wsgi",
        "--host", host,
        "--port", str(port),
        "--workers", str(web_workers),
        "--blocking-threads", "1",
        "--no-ws",
        "--static-path-route", settings.STATIC_URL.rstrip("/"),
        "--static-path-mount", str(settings.STATIC_ROOT),
        "awda.wsgi:application",
    ]  # fmt: skip
    worker = [sys.executable, "-m", "awda.cli", "run_huey", "--quiet"]
    # Our own interpreter and fixed arguments: nothing here comes from user input.
    children = [subprocess.Popen(web, env=env), subprocess.Popen(worker, env=env)]  # noqa: S603
    stdout.write(f"Awda is running on http://{host}:{port}/ (Ctrl+C stops it)\n")
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                code = child.returncode or 1
                stopping = True
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


class Command(BaseCommand):
    help = "Apply migrations, then serve the web app and the job worker."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=os.environ.get("AWDA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("AWDA_PORT", "8000")))
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("AWDA_WEB_WORKERS", "2"))
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        sys.exit(
            serve(
                host=options["host"],
                port=options["port"],
                web_workers=options["web_workers"],
                stdout=self.stdout,
            )
        )

"""``awda policy check FILE.yaml`` and ``awda policy export-preset SA``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from awda.policies.document import PolicyDocument, PolicyInvalid, default_policy
from awda.policies.presets import LEGAL_PRESETS
from awda.policies.yaml_io import dump_policy_yaml, load_policy_yaml


def summarize(doc: PolicyDocument) -> str:
    """A one-line description of a valid policy."""
    rules = len(doc.rules)
    parts = [
        doc.currency,
        f"{doc.defaults.window_days}-day default window",
        f"{rules} rule" + ("" if rules == 1 else "s"),
    ]
    if doc.country:
        parts.append(f"legal preset {doc.country}")
    return f"{doc.name} ({', '.join(parts)})"


class Command(BaseCommand):
    help = "Check a return-policy YAML file, or print a legal preset's starting policy as YAML."
    # Pure file work: no database or app checks needed, so it runs on a bare checkout.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        check = actions.add_parser("check", help="Validate a policy file (YAML or JSON).")
        check.add_argument("file", help="path to the policy file, or - for standard input")
        export = actions.add_parser(
            "export-preset", help="Print a starting policy for a legal preset as YAML."
        )
        export.add_argument("code", help=f"one of {', '.join(LEGAL_PRESETS)}")
        export.add_argument("--currency", help="currency of the policy (default: the preset's)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "check":
            self._check(options["file"])
        else:
            self._export_preset(options["code"], options.get("currency"))

    def _check(self, file: str) -> None:
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: {exc}") from None
        try:
            doc = load_policy_yaml(text)
        except PolicyInvalid as invalid:
            for error in invalid.errors:
                self.stderr.write(str(error))
            # Exit 1 without Django's "CommandError:" prefix, so each line stays "field: reason".
            sys.exit(1)
        self.stdout.write(f"OK: {summarize(doc)}")

    def _export_preset(self, code: str, currency: str | None) -> None:
        preset = LEGAL_PRESETS.get(code.upper())
        if preset is None:
            raise CommandError(f"unknown preset {code!r}; known: {', '.join(LEGAL_PRESETS)}")
        try:
            doc = default_policy(currency=currency or preset.currency, country=preset.code)
        except PolicyInvalid as invalid:
            raise CommandError(str(invalid)) from None
        self.stdout.write(dump_policy_yaml(doc), ending="")

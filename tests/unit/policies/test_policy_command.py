"""`awda policy check FILE` and `awda policy export-preset CODE`."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from awda.policies.document import default_policy
from awda.policies.yaml_io import dump_policy_yaml, load_policy_yaml


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("policy", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_check_prints_ok_and_a_summary_for_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(dump_policy_yaml(default_policy()), encoding="utf-8")

    out, err = run("check", str(path))

    assert out == ("OK: Standard returns (SAR, 30-day default window, 3 rules, legal preset SA)\n")
    assert err == ""


def test_check_prints_one_line_per_error_and_exits_1(tmp_path: Path) -> None:
    text = dump_policy_yaml(default_policy())
    text = text.replace("window_days: 30", "window_days: 400").replace(
        "currency: SAR", "currency: XYZ"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    err = StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("policy", "check", str(path), stdout=StringIO(), stderr=err)

    assert exited.value.code == 1
    assert err.getvalue().splitlines() == [
        "currency: unknown ISO 4217 currency XYZ",
        "defaults.window_days: Must be at most 365 (got 400)",
    ]


def test_check_reports_malformed_yaml_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [oops\n", encoding="utf-8")
    err = StringIO()

    with pytest.raises(SystemExit):
        call_command("policy", "check", str(path), stdout=StringIO(), stderr=err)

    assert err.getvalue().startswith("(document): invalid YAML at line 2")


def test_check_of_a_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"missing\.yaml"):
        run("check", str(tmp_path / "missing.yaml"))


def test_exported_preset_is_a_policy_that_passes_check(tmp_path: Path) -> None:
    out, _err = run("export-preset", "kw")
    path = tmp_path / "kw.yaml"
    path.write_text(out, encoding="utf-8")

    policy = load_policy_yaml(out)
    checked, _ = run("check", str(path))

    assert (policy.country, policy.currency) == ("KW", "KWD")
    assert checked.startswith("OK: ")


def test_export_preset_accepts_another_currency() -> None:
    out, _err = run("export-preset", "EU", "--currency", "SEK")

    assert load_policy_yaml(out).currency == "SEK"


def test_export_of_an_unknown_preset_is_a_command_error() -> None:
    with pytest.raises(CommandError, match="unknown preset 'XX'"):
        run("export-preset", "XX")

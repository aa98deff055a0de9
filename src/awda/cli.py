"""The ``awda`` command: Django's management commands with Awda's settings.

``awda run``, ``awda demo``, ``awda import orders FILE.csv``, ``awda policy check FILE.yaml``,
``awda createstaff`` and every standard command (``awda migrate``, ``awda shell`` …).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "awda"
    if len(args) == 1:
        args.append("help")
    execute_from_command_line(args)


if __name__ == "__main__":
    main()

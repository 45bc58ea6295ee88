"""The ``trastienda`` command: Django's management commands plus Trastienda's own.

``trastienda serve``, ``demo``, ``worker``, ``createcompany``, ``createuser``, ``backup``,
``restore``, ``audit verify`` and every Django command (``migrate``, ``check``...).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trastienda.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "trastienda"
    # "trastienda audit verify" is the management command "audit" with a sub-command.
    execute_from_command_line(args)


if __name__ == "__main__":
    main()

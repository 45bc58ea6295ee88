"""A service's ValidationError as the places of a file it names: for import pages, the API and
the command line (``file``, ``statement 2``, ``line 17``, ``line 17.quantity``...)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

RANKS = {"file": 0, "bank_account": 0, "broker": 0, "statement": 1, "line": 2, "movement": 2}


def error_key(where: str) -> tuple[int, int, str]:
    """Sort key of a place: the file first, then statements, then lines, by number."""
    head, _space, tail = where.partition(" ")
    number = tail.split(".", 1)[0]
    return RANKS.get(head, 1), int(number) if number.isdigit() else 0, where


def errors_by_place(exc: ValidationError) -> list[tuple[str, list[str]]]:
    """``[("file", [...]), ("statement 2", [...]), ("line 17.account", [...])]`` in file
    order."""
    if hasattr(exc, "error_dict"):
        found = {
            ("file" if key == "__all__" else key): list(messages)
            for key, messages in exc.message_dict.items()
        }
    else:
        found = {"file": list(exc.messages)}
    return [(where, found[where]) for where in sorted(found, key=error_key)]


def error_lines(exc: ValidationError) -> list[str]:
    """``["file: …", "line 12: …"]``: one text per problem, in file order."""
    return [
        f"{where}: {message}" for where, messages in errors_by_place(exc) for message in messages
    ]

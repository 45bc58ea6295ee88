"""``trastienda createuser``: create a user, optionally a member of a company in a role.

The password is read from standard input with ``--password-stdin`` (first line), asked for
twice on a terminal, or left unusable (set it later with ``trastienda changepassword``).
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from trastienda.core import context, services
from trastienda.core.management.commands._common import validation_error
from trastienda.core.models import Company, Language


class Command(BaseCommand):
    help = "Create a user, optionally with a role in a company."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--language", default="", choices=["", *Language.values])
        parser.add_argument("--company", help="Code of the company to join.")
        parser.add_argument(
            "--role",
            help="Role code in that company (administrator, accountant, "
            "clerk, hr_manager, warehouse, operations, auditor).",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of standard input.",
        )
        parser.add_argument(
            "--superuser",
            action="store_true",
            help="May also open the Django admin site (platform operators).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code, role = options["company"], options["role"]
        if bool(code) != bool(role):
            raise CommandError("company: --company and --role go together.")
        company = None
        if code:
            company = Company.objects.filter(code=code.strip().upper()).first()
            if company is None:
                raise CommandError(f"company: no company with code {code!r}.")
        password = self.read_password(options)
        try:
            with context.acting(source="cli"), transaction.atomic():
                user = services.user_create(
                    username=options["username"],
                    password=password,
                    email=options["email"],
                    first_name=options["first_name"],
                    last_name=options["last_name"],
                    language=options["language"],
                    is_staff=options["superuser"],
                )
                if company is not None:
                    services.membership_set(company=company, user=user, role_code=role)
        except ValidationError as exc:
            raise validation_error(exc) from exc
        where = f" as {role} in {company.code}" if company is not None else ""
        self.stdout.write(self.style.SUCCESS(f"Created user {user.username}{where}."))
        if password is None:
            self.stdout.write(f"No password set: run `trastienda changepassword {user.username}`.")

    def read_password(self, options: dict[str, Any]) -> str | None:
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("password: standard input had no password.")
            return password
        if sys.stdin.isatty():
            first = getpass.getpass("Password: ")
            if first != getpass.getpass("Password (again): "):
                raise CommandError("password: the two passwords differ.")
            return first or None
        return None

"""``trastienda createcompany``: create a company with its built-in roles."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from trastienda.core import context, services
from trastienda.core.management.commands._common import validation_error
from trastienda.core.models import Country, Language


class Command(BaseCommand):
    help = "Create a company (with its built-in roles)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--code", required=True, help="Short code used in URLs (ES01).")
        parser.add_argument("--name", required=True, help="Legal name.")
        parser.add_argument(
            "--country", required=True, choices=Country.values, help="ISO country code."
        )
        parser.add_argument("--tax-id", required=True, help="CIF/NIF, partita IVA, VAT number.")
        parser.add_argument("--currency", default="EUR", help="Base currency (default EUR).")
        parser.add_argument(
            "--language",
            default="en",
            choices=Language.values,
            help="Default language (default en).",
        )
        parser.add_argument(
            "--fiscal-year-start",
            type=int,
            default=1,
            help="Month the fiscal year starts in (default 1).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with context.acting(source="cli"):
                company = services.company_create(
                    code=options["code"],
                    legal_name=options["name"],
                    country=options["country"],
                    tax_id=options["tax_id"],
                    base_currency=options["currency"],
                    language=options["language"],
                    fiscal_year_start_month=options["fiscal_year_start"],
                )
        except ValidationError as exc:
            raise validation_error(exc) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created company {company.code} · {company.legal_name} (tax id {company.tax_id})."
            )
        )

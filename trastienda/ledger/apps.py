"""The general ledger: currencies and exchange rates, chart of accounts, fiscal years and
periods with lock dates, journals with gap-free numbering, journal entries with their lines,
a per-company SHA-256 hash chain of posted entries, and monthly balances per account.

Depends on core (and audit, whose hash-chain and trigger approach it reuses); billing,
banking and trading will depend on it. See ``trastienda/ledger/DESIGN.md``.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem


def _ensure_currencies(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Re-seed the currency table after ``flush`` (which empties what migrations seeded)."""
    from django.apps import apps as global_apps
    from django.db import connections

    from trastienda.ledger.models import Currency

    if Currency._meta.db_table not in connections[using].introspection.table_names():
        return
    if Currency.objects.using(using).exists():
        return
    from importlib import import_module

    import_module("trastienda.ledger.migrations.0002_currencies").seed(global_apps, None)


class LedgerConfig(AppConfig):
    name = "trastienda.ledger"
    label = "ledger"
    verbose_name = _("Ledger")
    menu = Menu(
        label=_("Ledger"),
        icon="bi-journal-bookmark",
        items=(
            MenuItem(
                _("Entries"), "ledger:journalentry_list", "ledger.view_journalentry", "bi-list-ol"
            ),
            MenuItem(_("Accounts"), "ledger:account_list", "ledger.view_account", "bi-diagram-3"),
            MenuItem(
                _("Trial balance"),
                "ledger:report_trial_balance",
                "ledger.view_journalentry",
                "bi-table",
            ),
            MenuItem(
                _("General ledger"),
                "ledger:report_general_ledger",
                "ledger.view_journalentry",
                "bi-journal-text",
            ),
            MenuItem(
                _("Journal book"),
                "ledger:report_journal_book",
                "ledger.view_journalentry",
                "bi-book",
            ),
            MenuItem(
                _("Profit and loss"),
                "ledger:report_profit_and_loss",
                "ledger.view_journalentry",
                "bi-graph-up",
            ),
            MenuItem(
                _("Balance sheet"),
                "ledger:report_balance_sheet",
                "ledger.view_journalentry",
                "bi-clipboard-data",
            ),
            MenuItem(_("Budgets"), "ledger:budget_list", "ledger.view_budget", "bi-piggy-bank"),
            MenuItem(
                _("Budget vs actual"),
                "ledger:budget_report",
                "ledger.view_budget",
                "bi-bar-chart-line",
            ),
            MenuItem(_("Journals"), "ledger:journal_list", "ledger.view_journal", "bi-journals"),
            MenuItem(
                _("Fiscal years"),
                "ledger:fiscalyear_list",
                "ledger.view_fiscalyear",
                "bi-calendar3",
            ),
            MenuItem(
                _("Currencies"), "ledger:currency_list", "ledger.view_currency", "bi-currency-euro"
            ),
            MenuItem(
                _("Exchange rates"),
                "ledger:exchangerate_list",
                "ledger.view_exchangerate",
                "bi-currency-exchange",
            ),
            MenuItem(_("Periods"), "ledger:period_list", "ledger.view_period", "bi-calendar-month"),
            MenuItem(
                _("Lock dates"),
                "ledger:ledgersettings_list",
                "ledger.view_ledgersettings",
                "bi-lock",
            ),
            MenuItem(
                _("Cost centres"), "ledger:costcentre_list", "ledger.view_costcentre", "bi-bullseye"
            ),
            MenuItem(_("Projects"), "ledger:project_list", "ledger.view_project", "bi-kanban"),
            MenuItem(
                _("Import accounts"), "ledger:account_import", "ledger.add_account", "bi-upload"
            ),
            MenuItem(
                _("Import exchange rates"),
                "ledger:exchangerate_import",
                "ledger.add_exchangerate",
                "bi-upload",
            ),
            MenuItem(
                _("Import entries"),
                "ledger:journalentry_import",
                "ledger.add_journalentry",
                "bi-upload",
            ),
            MenuItem(
                _("Revaluation"),
                "ledger:revaluation",
                "ledger.post_journalentry",
                "bi-arrow-repeat",
            ),
        ),
        order=200,
    )

    def ready(self) -> None:
        from trastienda.core.services import company_setup_step
        from trastienda.ledger import budgets  # noqa: F401 - registers the budgets' demo step
        from trastienda.ledger.services import company_ledger_setup

        company_setup_step(company_ledger_setup)
        post_migrate.connect(
            _ensure_currencies, sender=self, dispatch_uid="trastienda_ledger_currencies"
        )

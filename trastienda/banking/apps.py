"""Banking: bank accounts, statement import, reconciliation, SEPA payment batches and direct
debits, cash position and forecast. See ``trastienda/banking/DESIGN.md``."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem


class BankingConfig(AppConfig):
    name = "trastienda.banking"
    label = "banking"
    verbose_name = _("Banking")
    menu = Menu(
        label=_("Banking"),
        icon="bi-bank",
        items=(
            MenuItem(
                _("Cash position"),
                "banking:cash_position",
                "banking.view_bankaccount",
                "bi-graph-up",
            ),
            MenuItem(
                _("Reconcile"),
                "banking:reconcile",
                "banking.view_statementline",
                "bi-check2-square",
            ),
            MenuItem(
                _("Statement lines"),
                "banking:statementline_list",
                "banking.view_statementline",
                "bi-list-ul",
            ),
            MenuItem(
                _("Statements"),
                "banking:statement_list",
                "banking.view_statement",
                "bi-file-earmark-text",
            ),
            MenuItem(
                _("Import a statement"),
                "banking:statement_import",
                "banking.add_statement",
                "bi-upload",
            ),
            MenuItem(
                _("Payment batches"),
                "banking:paymentbatch_list",
                "banking.view_paymentbatch",
                "bi-send",
            ),
            MenuItem(
                _("Direct debit mandates"),
                "banking:mandate_list",
                "banking.view_mandate",
                "bi-pen",
            ),
            MenuItem(
                _("Reconciliation rules"),
                "banking:reconciliationrule_list",
                "banking.view_reconciliationrule",
                "bi-funnel",
            ),
            MenuItem(
                _("Bank accounts"),
                "banking:bankaccount_list",
                "banking.view_bankaccount",
                "bi-bank",
            ),
        ),
        order=400,
    )

    def ready(self) -> None:
        from trastienda.banking import jobs  # noqa: F401  (registers the job kinds)

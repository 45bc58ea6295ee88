"""Trading: the brokerage operations back office — reference data, trade capture,
confirmations and their reconciliation. See ``trastienda/trading/DESIGN.md``."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem


class TradingConfig(AppConfig):
    name = "trastienda.trading"
    label = "trading"
    verbose_name = _("Trading")
    menu = Menu(
        label=_("Trading"),
        icon="bi-graph-up-arrow",
        items=(
            MenuItem(
                _("Trades"), "trading:trade_list", "trading.view_trade", "bi-arrow-left-right"
            ),
            MenuItem(_("Import trades"), "trading:trade_import", "trading.add_trade", "bi-upload"),
            MenuItem(
                _("Confirmations"),
                "trading:confirmation_list",
                "trading.view_confirmation",
                "bi-card-checklist",
            ),
            MenuItem(
                _("Import confirmations"),
                "trading:confirmation_import",
                "trading.add_confirmation",
                "bi-file-earmark-arrow-up",
            ),
            MenuItem(
                _("Reconcile"),
                "trading:reconcile",
                "trading.add_reconciliationrun",
                "bi-check2-all",
            ),
            MenuItem(
                _("Breaks"), "trading:break_list", "trading.view_break", "bi-exclamation-triangle"
            ),
            MenuItem(
                _("Instruments"),
                "trading:instrument_list",
                "trading.view_instrument",
                "bi-bar-chart",
            ),
            MenuItem(
                _("Accounts"),
                "trading:tradingaccount_list",
                "trading.view_tradingaccount",
                "bi-person-vcard",
            ),
            MenuItem(_("Brokers"), "trading:broker_list", "trading.view_broker", "bi-building"),
            MenuItem(_("Traders"), "trading:trader_list", "trading.view_trader", "bi-person-badge"),
            MenuItem(_("Desks"), "trading:desk_list", "trading.view_desk", "bi-diagram-3"),
        ),
        order=500,
    )

"""Trading: the brokerage operations back office — reference data, trade capture,
confirmations and the three-way reconciliation, settlement, expiries, positions and P&L,
compliance monitoring. See ``trastienda/trading/DESIGN.md``."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem


class TradingConfig(AppConfig):
    name = "trastienda.trading"
    label = "trading"
    verbose_name = _("Trading")
    menus = (
        Menu(
            label=_("Trading"),
            icon="bi-graph-up-arrow",
            items=(
                MenuItem(
                    _("Trades"), "trading:trade_list", "trading.view_trade", "bi-arrow-left-right"
                ),
                MenuItem(
                    _("Import trades"), "trading:trade_import", "trading.add_trade", "bi-upload"
                ),
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
                    _("Breaks"),
                    "trading:break_list",
                    "trading.view_break",
                    "bi-exclamation-triangle",
                ),
                MenuItem(_("Prices"), "trading:price_list", "trading.view_price", "bi-tags"),
                MenuItem(
                    _("Positions"), "trading:positions", "trading.view_pnlsnapshot", "bi-stack"
                ),
                MenuItem(
                    _("Daily P&L"), "trading:pnl_report", "trading.view_pnlsnapshot", "bi-bar-chart"
                ),
                MenuItem(
                    _("P&L history"),
                    "trading:pnl_history",
                    "trading.view_pnlsnapshot",
                    "bi-graph-up",
                ),
            ),
            order=500,
        ),
        Menu(
            label=_("Settlement and expiries"),
            icon="bi-calendar-check",
            items=(
                MenuItem(
                    _("Settlement instructions"),
                    "trading:settlementinstruction_list",
                    "trading.view_settlementinstruction",
                    "bi-journal-check",
                ),
                MenuItem(
                    _("Approvals"),
                    "trading:settlementinstruction_approvals",
                    "trading.approve_settlementinstruction",
                    "bi-person-check",
                ),
                MenuItem(
                    _("Settlement fails"),
                    "trading:settlement_fails",
                    "trading.view_settlementinstruction",
                    "bi-exclamation-octagon",
                ),
                MenuItem(
                    _("Settlement projections"),
                    "trading:settlement_projections",
                    "trading.view_settlementinstruction",
                    "bi-calendar-range",
                ),
                MenuItem(
                    _("Expiry calendar"),
                    "trading:expiry_calendar",
                    "trading.view_trade",
                    "bi-calendar3",
                ),
                MenuItem(
                    _("Expiry process"),
                    "trading:expiry_process",
                    "trading.add_expiryrun",
                    "bi-hourglass-bottom",
                ),
                MenuItem(
                    _("Expiry runs"),
                    "trading:expiryrun_list",
                    "trading.view_expiryrun",
                    "bi-clock-history",
                ),
                MenuItem(
                    _("Obligations"),
                    "trading:obligation_list",
                    "trading.view_obligation",
                    "bi-list-check",
                ),
            ),
            order=501,
        ),
        Menu(
            label=_("Trading compliance"),
            icon="bi-shield-check",
            items=(
                MenuItem(
                    _("Compliance"),
                    "trading:compliance_dashboard",
                    "trading.view_alert",
                    "bi-speedometer2",
                ),
                MenuItem(_("Alerts"), "trading:alert_list", "trading.view_alert", "bi-bell"),
                MenuItem(
                    _("Run compliance"),
                    "trading:compliance_run",
                    "trading.add_alert",
                    "bi-shield-exclamation",
                ),
                MenuItem(
                    _("Compliance rules"),
                    "trading:compliancerule_list",
                    "trading.view_compliancerule",
                    "bi-sliders",
                ),
                MenuItem(
                    _("Restricted list"),
                    "trading:restrictedinstrument_list",
                    "trading.view_restrictedinstrument",
                    "bi-slash-circle",
                ),
                MenuItem(
                    _("Procedures manual"),
                    "trading:procedure_list",
                    "trading.view_procedure",
                    "bi-journal-text",
                ),
            ),
            order=502,
        ),
        Menu(
            label=_("Trading reference data"),
            icon="bi-database",
            items=(
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
                MenuItem(
                    _("Traders"), "trading:trader_list", "trading.view_trader", "bi-person-badge"
                ),
                MenuItem(_("Desks"), "trading:desk_list", "trading.view_desk", "bi-diagram-3"),
                MenuItem(
                    _("Trading settings"),
                    "trading:tradingsettings_edit",
                    "trading.view_tradingsettings",
                    "bi-gear",
                ),
                MenuItem(
                    _("Approval limits"),
                    "trading:approvallimit_list",
                    "trading.view_approvallimit",
                    "bi-shield-lock",
                ),
            ),
            order=503,
        ),
    )

    def ready(self) -> None:
        # The periodic jobs register when imported (the worker imports no views).
        from trastienda.trading import (  # noqa: F401
            jobs_compliance,
            jobs_expiry,
            jobs_positions,
        )

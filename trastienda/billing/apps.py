"""Billing: partners, products, taxes, sales invoices, supplier bills, payments,
receivables and payables, collections. See ``trastienda/billing/DESIGN.md``."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem


class BillingConfig(AppConfig):
    name = "trastienda.billing"
    label = "billing"
    verbose_name = _("Billing")
    menu = Menu(
        label=_("Billing"),
        icon="bi-receipt",
        items=(
            MenuItem(_("Invoices"), "billing:invoice_list", "billing.view_invoice", "bi-receipt"),
            MenuItem(_("Supplier bills"), "billing:bill_list", "billing.view_invoice", "bi-inbox"),
            MenuItem(_("Payments"), "billing:payment_list", "billing.view_payment", "bi-cash-coin"),
            MenuItem(
                _("Collections"),
                "billing:dunningrun_list",
                "billing.view_dunningrun",
                "bi-envelope-exclamation",
            ),
            MenuItem(
                _("Aged receivables"),
                "billing:aged_receivables",
                "billing.view_invoice",
                "bi-hourglass-split",
            ),
            MenuItem(
                _("Aged payables"),
                "billing:aged_payables",
                "billing.view_invoice",
                "bi-hourglass-bottom",
            ),
            MenuItem(_("Partners"), "billing:partner_list", "billing.view_partner", "bi-people"),
            MenuItem(
                _("Products and services"),
                "billing:product_list",
                "billing.view_product",
                "bi-box-seam",
            ),
            MenuItem(_("Taxes"), "billing:tax_list", "billing.view_tax", "bi-percent"),
            MenuItem(
                _("Payment terms"),
                "billing:paymentterm_list",
                "billing.view_paymentterm",
                "bi-calendar-check",
            ),
            MenuItem(
                _("Invoice series"),
                "billing:invoiceseries_list",
                "billing.view_invoiceseries",
                "bi-123",
            ),
            MenuItem(
                _("Billing settings"),
                "billing:billingsettings_list",
                "billing.view_billingsettings",
                "bi-sliders",
            ),
            MenuItem(
                _("Recurring invoices"),
                "billing:recurringinvoice_list",
                "billing.view_recurringinvoice",
                "bi-arrow-repeat",
            ),
            MenuItem(
                _("VAT report"), "billing:vat_report", "billing.view_invoice", "bi-calculator"
            ),
        ),
        order=300,
    )

    def ready(self) -> None:
        # Registering: the company set-up step, periodic jobs and job kinds (the worker
        # imports no views).
        from trastienda.billing import (  # noqa: F401
            dunning_jobs,
            jobs,
            partner_imports,
            setup,
        )

"""Tables of the invoice and payment lists."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trastienda.billing.models import Invoice, Payment
from trastienda.core.money import Money
from trastienda.core.tables import BaseTable, MoneyColumn

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


class SignedMoneyColumn(MoneyColumn):
    """An invoice's amount, negative for a credit note (stored positive): a list's figures
    then add up."""

    def render(self, value: Any, record: Any) -> Any:
        return Money(int(value or 0) * record.sign, self.currency_of(record)).to_decimal()


NOWRAP = {"td": {"class": "text-nowrap"}}


class InvoiceTable(BaseTable):
    invoice = tables.Column(
        accessor="pk",
        verbose_name=_("Invoice"),
        linkify=lambda record: record.get_absolute_url(),
        order_by=("number", "id"),
        attrs={"td": {"class": "text-nowrap"}},
    )
    partner = tables.Column(accessor="partner__legal_name", verbose_name=_("Partner"))
    date = tables.DateColumn(verbose_name=_("Date"), attrs=NOWRAP)
    due_date = tables.DateColumn(verbose_name=_("Due"), attrs=NOWRAP)
    payment_state = tables.Column(verbose_name=_("Status"), attrs=NOWRAP)
    total_amount = SignedMoneyColumn(verbose_name=_("Total"))
    open_amount = SignedMoneyColumn(verbose_name=_("Outstanding"))
    net_amount = SignedMoneyColumn(verbose_name=_("Net amount"))
    tax_amount = SignedMoneyColumn(verbose_name=_("Taxes"))

    class Meta(BaseTable.Meta):
        model = Invoice
        fields = (
            "pk",
            "invoice",
            "kind",
            "date",
            "partner",
            "supplier_reference",
            "state",
            "payment_state",
            "due_date",
            "currency",
            "net_amount",
            "tax_amount",
            "total_amount",
            "open_amount",
        )
        default_columns = (
            "invoice",
            "date",
            "partner",
            "payment_state",
            "due_date",
            "total_amount",
            "open_amount",
        )

    def render_invoice(self, record: Invoice) -> str:
        return str(record)

    def value_invoice(self, record: Invoice) -> str:
        return str(record)

    def render_state(self, record: Invoice) -> Any:
        return format_html(
            '<span class="badge {}">{}</span>',
            STATE_BADGES.get(record.state, "text-bg-light"),
            record.get_state_display(),
        )

    def value_state(self, record: Invoice) -> str:
        return str(record.get_state_display())

    def render_payment_state(self, record: Invoice) -> Any:
        """Issued: what is paid (or overdue); before that, the state (draft, approval)."""
        label, css = payment_badge(record)
        if not label:
            return self.render_state(record)
        return format_html('<span class="badge {}">{}</span>', css, label)

    def value_payment_state(self, record: Invoice) -> str:
        return str(payment_badge(record)[0] or record.get_state_display())


STATE_BADGES: dict[str, str] = {
    Invoice.State.DRAFT: "text-bg-secondary",
    Invoice.State.TO_APPROVE: "text-bg-warning",
    Invoice.State.APPROVED: "text-bg-info",
    Invoice.State.ISSUED: "text-bg-primary",
}


def payment_badge(invoice: Invoice) -> tuple[Any, str]:
    """(label, badge class) of what is paid of an issued invoice; ("", "") for the others.

    ``invoice.is_overdue`` is set by the list's and the detail page's queryset (an instalment
    still open past its due date)."""
    if invoice.state != Invoice.State.ISSUED:
        return "", ""
    css = PAYMENT_BADGES.get(invoice.payment_state, "text-bg-light border")
    if invoice.kind == Invoice.Kind.CREDIT_NOTE:  # what is open is the partner's credit
        return CREDIT_NOTE_PAYMENT[invoice.payment_state], css
    if invoice.payment_state != Invoice.PaymentState.PAID and getattr(invoice, "is_overdue", False):
        return _("Overdue"), "text-bg-danger"
    return invoice.get_payment_state_display(), css


CREDIT_NOTE_PAYMENT: dict[str, Any] = {
    Invoice.PaymentState.UNPAID: _("Not applied"),
    Invoice.PaymentState.PARTLY_PAID: _("Partly applied"),
    Invoice.PaymentState.PAID: _("Applied"),
}
PAYMENT_BADGES: dict[str, str] = {
    Invoice.PaymentState.PAID: "text-bg-success",
    Invoice.PaymentState.PARTLY_PAID: "text-bg-warning",
}


class BillTable(InvoiceTable):
    invoice = tables.Column(
        accessor="pk",
        verbose_name=_("Bill"),
        linkify=lambda record: record.get_absolute_url(),
        order_by=("supplier_reference", "id"),
        attrs={"td": {"class": "text-nowrap"}},
    )

    class Meta(InvoiceTable.Meta):
        default_columns = (
            "invoice",
            "date",
            "partner",
            "payment_state",
            "due_date",
            "total_amount",
            "open_amount",
        )


class PaymentTable(BaseTable):
    payment = tables.Column(
        accessor="pk",
        verbose_name=_("Payment"),
        linkify=lambda record: record.get_absolute_url(),
    )
    partner = tables.Column(accessor="partner__legal_name", verbose_name=_("Partner"))
    amount = MoneyColumn(verbose_name=_("Amount"))
    unallocated_amount = MoneyColumn(verbose_name=_("Credit kept"))
    write_off_amount = MoneyColumn(verbose_name=_("Written off"))

    class Meta(BaseTable.Meta):
        model = Payment
        fields = (
            "pk",
            "payment",
            "date",
            "direction",
            "partner",
            "reference",
            "state",
            "currency",
            "amount",
            "unallocated_amount",
            "write_off_amount",
        )
        default_columns = (
            "payment",
            "date",
            "direction",
            "partner",
            "reference",
            "state",
            "amount",
            "unallocated_amount",
        )

    def render_payment(self, record: Payment) -> str:
        return f"#{record.pk}"

    def value_payment(self, record: Payment) -> str:
        return f"#{record.pk}"

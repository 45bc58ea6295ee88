"""Tables of the payment batch and mandate lists."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from trastienda.banking.models import Mandate, PaymentBatch
from trastienda.core.tables import BaseTable, MoneyColumn


class PaymentBatchTable(BaseTable):
    batch = tables.Column(
        accessor="pk",
        verbose_name=_("Batch"),
        linkify=lambda record: record.get_absolute_url(),
    )
    bank_account = tables.Column(accessor="bank_account__name", verbose_name=_("Bank account"))
    total = MoneyColumn(verbose_name=_("Total"))
    created_by = tables.Column(accessor="created_by__username", verbose_name=_("Created by"))
    approved_by = tables.Column(accessor="approved_by__username", verbose_name=_("Approved by"))

    class Meta(BaseTable.Meta):
        model = PaymentBatch
        fields = (
            "pk",
            "batch",
            "kind",
            "state",
            "execution_date",
            "bank_account",
            "line_count",
            "currency",
            "total",
            "message_id",
            "created_by",
            "approved_by",
            "created_at",
        )
        default_columns = (
            "batch",
            "kind",
            "state",
            "execution_date",
            "bank_account",
            "line_count",
            "total",
            "created_by",
            "approved_by",
        )

    def render_batch(self, record: PaymentBatch) -> str:
        return f"#{record.pk}"

    def value_batch(self, record: PaymentBatch) -> int:
        return int(record.pk)


class MandateTable(BaseTable):
    reference = tables.Column(linkify=lambda record: record.get_absolute_url())
    partner = tables.Column(accessor="partner__legal_name", verbose_name=_("Customer"))
    partner_code = tables.Column(accessor="partner__code", verbose_name=_("Customer code"))

    class Meta(BaseTable.Meta):
        model = Mandate
        fields = (
            "pk",
            "reference",
            "partner",
            "partner_code",
            "scheme",
            "iban",
            "bic",
            "signed_on",
            "state",
            "last_collected_on",
        )
        default_columns = (
            "reference",
            "partner",
            "scheme",
            "iban",
            "signed_on",
            "state",
            "last_collected_on",
        )

"""Banking: bank accounts, imported statements, reconciliation, SEPA payment batches, mandates.

Depends on core, the ledger (each bank account has its ledger account and journal; reconciling
posts entries) and billing (reconciling a line with invoices records a ``billing.Payment``;
payment batches pay supplier bills; direct debits collect sales invoices). Amounts are integer
minor units of the account's currency, signed from the account holder's side (money in
positive). See ``trastienda/banking/DESIGN.md``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trastienda.core.models import CompanyOwned


class BankAccount(CompanyOwned):
    """An account the company holds at a bank: where statements come from and payments go."""

    name = models.CharField(_("name"), max_length=100)
    iban = models.CharField(_("IBAN"), max_length=34, help_text=_("Stored compact, upper case."))
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ledger account"),
    )
    journal = models.ForeignKey(
        "ledger.Journal", on_delete=models.PROTECT, related_name="+", verbose_name=_("journal")
    )
    creditor_id = models.CharField(
        _("SEPA creditor identifier"),
        max_length=35,
        blank=True,
        help_text=_("Needed for direct debits, e.g. ES12000B12345678."),
    )
    column_mapping = models.JSONField(
        _("CSV/XLSX column mapping"),
        default=dict,
        blank=True,
        help_text=_("How the columns of this bank's CSV or XLSX statements are read."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "iban"], name="banking_account_iban_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.iban}"

    def get_absolute_url(self) -> str:
        return reverse(
            "banking:bankaccount_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class Statement(CompanyOwned):
    """One imported statement: a period of one account's movements, checked to add up."""

    class Format(models.TextChoices):
        CAMT053 = "camt.053", "CAMT.053"
        CAMT054 = "camt.054", "CAMT.054"
        CAMT052 = "camt.052", "CAMT.052"
        OFX = "ofx", "OFX"
        NORMA43 = "norma43", "Norma 43"
        MT940 = "mt940", "MT940"
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    bank_account = models.ForeignKey(
        BankAccount,
        on_delete=models.PROTECT,
        related_name="statements",
        verbose_name=_("bank account"),
    )
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    reference = models.CharField(_("statement id"), max_length=140, blank=True)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    file_hash = models.CharField(_("file fingerprint"), max_length=64)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to"))
    opening_balance = models.BigIntegerField(_("opening balance"), null=True, blank=True)
    closing_balance = models.BigIntegerField(_("closing balance"), null=True, blank=True)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    credit_total = models.BigIntegerField(_("money in"), default=0)
    debit_total = models.BigIntegerField(_("money out"), default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    created_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-end_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "file_hash", "reference"],
                name="banking_statement_file_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_account.name} {self.start_date} - {self.end_date}"

    def get_absolute_url(self) -> str:
        return reverse(
            "banking:statement_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class StatementLine(CompanyOwned):
    """A movement on the bank account. ``open_amount`` is what is not reconciled yet."""

    class State(models.TextChoices):
        OPEN = "open", _("To reconcile")
        PARTIAL = "partial", _("Partly reconciled")
        RECONCILED = "reconciled", _("Reconciled")

    statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="lines", verbose_name=_("statement")
    )
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="lines", verbose_name=_("bank account")
    )
    sequence = models.PositiveIntegerField(_("line"))
    booking_date = models.DateField(_("date"))
    value_date = models.DateField(_("value date"), null=True, blank=True)
    amount = models.BigIntegerField(_("amount"))
    open_amount = models.BigIntegerField(_("to reconcile"))
    currency = models.CharField(_("currency"), max_length=3)
    description = models.TextField(_("description"), blank=True)
    reference = models.CharField(_("reference"), max_length=140, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=140, blank=True)
    counterparty_name = models.CharField(_("counterparty"), max_length=140, blank=True)
    counterparty_iban = models.CharField(_("counterparty IBAN"), max_length=34, blank=True)
    transaction_code = models.CharField(_("transaction code"), max_length=40, blank=True)
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["booking_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "fingerprint"], name="banking_line_fingerprint_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["company", "state", "booking_date"], name="banking_line_state_date"
            ),
            models.Index(fields=["statement", "sequence"], name="banking_line_statement"),
        ]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.description[:60]}".strip()

    def get_absolute_url(self) -> str:
        return reverse(
            "banking:statementline_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class ReconciliationRule(CompanyOwned):
    """A user rule: a line whose text contains something is booked to an account."""

    class Direction(models.TextChoices):
        ANY = "any", _("Money in or out")
        IN = "in", _("Money in")
        OUT = "out", _("Money out")

    name = models.CharField(_("name"), max_length=100)
    bank_account = models.ForeignKey(
        BankAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rules",
        verbose_name=_("bank account"),
        help_text=_("Empty: every bank account."),
    )
    text_contains = models.CharField(
        _("text contains"),
        max_length=100,
        help_text=_("Matched in the description, reference and counterparty, any case."),
    )
    direction = models.CharField(
        _("direction"), max_length=4, choices=Direction.choices, default=Direction.ANY
    )
    account = models.ForeignKey(
        "ledger.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    entry_description = models.CharField(_("entry description"), max_length=200, blank=True)
    auto_post = models.BooleanField(
        _("post automatically"),
        default=False,
        help_text=_("Automatic reconciliation posts the entry without asking."),
    )
    priority = models.PositiveIntegerField(_("priority"), default=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reconciliation rule")
        verbose_name_plural = _("reconciliation rules")
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "banking:reconciliationrule_detail",
            kwargs={"company": self.company.code, "pk": self.pk},
        )


class Reconciliation(CompanyOwned):
    """What one statement line (or part of it) was reconciled with. Undone by reversal."""

    class Kind(models.TextChoices):
        INVOICES = "invoices", _("Invoices")
        LEDGER = "ledger", _("Ledger items")
        ENTRY = "entry", _("New entry")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        UNDONE = "undone", _("Undone")

    line = models.ForeignKey(
        StatementLine,
        on_delete=models.PROTECT,
        related_name="reconciliations",
        verbose_name=_("statement line"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    amount = models.BigIntegerField(_("amount"))
    payment = models.ForeignKey(
        "billing.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment"),
    )
    entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("journal entry"),
    )
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    automatic = models.BooleanField(_("automatic"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reconciled by"),
    )
    created_at = models.DateTimeField(_("reconciled"), auto_now_add=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("undone by"),
    )
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    class Meta:
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.line} · {self.get_kind_display()}"


class ReconciledItem(CompanyOwned):
    """A ledger line on the bank's account matched by a reconciliation (it stays untouched:
    posted lines are immutable, the match is recorded beside it). Unique while active."""

    reconciliation = models.ForeignKey(
        Reconciliation,
        on_delete=models.PROTECT,
        related_name="items",
        verbose_name=_("reconciliation"),
    )
    entry_line = models.ForeignKey(
        "ledger.JournalEntryLine",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ledger line"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reconciled ledger line")
        verbose_name_plural = _("reconciled ledger lines")
        constraints = [
            models.UniqueConstraint(
                fields=["entry_line"],
                condition=models.Q(active=True),
                name="banking_item_line_once",
            ),
        ]


class Mandate(CompanyOwned):
    """A SEPA direct debit mandate signed by a customer."""

    class Scheme(models.TextChoices):
        CORE = "CORE", _("CORE (consumers and businesses)")
        B2B = "B2B", _("B2B (businesses only)")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    partner = models.ForeignKey(
        "billing.Partner",
        on_delete=models.PROTECT,
        related_name="mandates",
        verbose_name=_("customer"),
    )
    reference = models.CharField(_("mandate id"), max_length=35)
    scheme = models.CharField(_("scheme"), max_length=4, choices=Scheme.choices, default="CORE")
    iban = models.CharField(_("debtor IBAN"), max_length=34)
    bic = models.CharField(_("debtor BIC"), max_length=11, blank=True)
    signed_on = models.DateField(_("signature date"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    last_collected_on = models.DateField(
        _("last collection"),
        null=True,
        blank=True,
        help_text=_("Empty until the first collection: the next one is then FRST, else RCUR."),
    )

    class Meta:
        verbose_name = _("direct debit mandate")
        verbose_name_plural = _("direct debit mandates")
        ordering = ["reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "reference"], name="banking_mandate_reference_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse(
            "banking:mandate_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )

    @property
    def sequence_type(self) -> str:
        return "FRST" if self.last_collected_on is None else "RCUR"


class PaymentBatch(CompanyOwned):
    """A SEPA credit transfer (pain.001) or direct debit (pain.008) file and its lines."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("Credit transfers (pain.001)")
        DEBIT = "debit", _("Direct debits (pain.008)")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        EXPORTED = "exported", _("File generated")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="draft")
    bank_account = models.ForeignKey(
        BankAccount,
        on_delete=models.PROTECT,
        related_name="batches",
        verbose_name=_("bank account"),
    )
    execution_date = models.DateField(_("execution date"))
    message_id = models.CharField(_("message id"), max_length=35, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    total = models.BigIntegerField(_("total"), default=0)
    line_count = models.PositiveIntegerField(_("payments"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    xml = models.TextField(_("file"), blank=True)

    class Meta:
        verbose_name = _("payment batch")
        verbose_name_plural = _("payment batches")
        ordering = ["-execution_date", "-id"]
        permissions = [("approve_paymentbatch", _("Can approve payment batches"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.execution_date} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse(
            "banking:paymentbatch_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class PaymentBatchLine(CompanyOwned):
    """One transfer to a supplier, or one collection from a customer, for one invoice."""

    batch = models.ForeignKey(
        PaymentBatch, on_delete=models.CASCADE, related_name="lines", verbose_name=_("batch")
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="+", verbose_name=_("invoice")
    )
    partner = models.ForeignKey(
        "billing.Partner", on_delete=models.PROTECT, related_name="+", verbose_name=_("partner")
    )
    amount = models.BigIntegerField(_("amount"))
    name = models.CharField(_("name"), max_length=70)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    remittance = models.CharField(_("remittance information"), max_length=140)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35)
    mandate = models.ForeignKey(
        Mandate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("mandate"),
    )
    sequence_type = models.CharField(_("sequence"), max_length=4, blank=True)
    payment = models.ForeignKey(
        "billing.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment"),
    )

    class Meta:
        verbose_name = _("payment batch line")
        verbose_name_plural = _("payment batch lines")
        ordering = ["batch", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "end_to_end_id"], name="banking_batchline_e2e_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.end_to_end_id}"

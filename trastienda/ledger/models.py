"""Models of the general ledger. Writers are the services in :mod:`trastienda.ledger.services`.

Invariants
- Amounts are integers in minor units: ``debit``/``credit`` in the company's currency,
  ``amount_currency`` (signed: positive on the debit side) in the line's currency.
- A posted entry balances, carries its journal's next number for its fiscal year and its
  place in the company's hash chain (``chain_seq``, ``prev_hash``, ``hash``,
  ``hash_version``). Posted entries and their lines are never updated or deleted: the
  services refuse and database triggers refuse (see ``migrations/0002_triggers.py``).
- Currencies are reference data shared by every company (read-only in the UI and API);
  exchange rates belong to a company (its bank's or the ECB's, as it chooses).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.urls import reverse
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from trastienda.core.models import Company, CompanyOwned, CompanyScopedQuerySet

HASH_LENGTH = 64


class CurrencyQuerySet(models.QuerySet["Currency"]):
    def for_company(self, company: Company) -> CurrencyQuerySet:
        """Currencies are shared reference data: every company sees all of them."""
        return self.all()


class Currency(models.Model):
    """An ISO 4217 currency and its exponent (digits after the decimal point)."""

    code = models.CharField(_("code"), max_length=3, unique=True)
    name = models.CharField(_("name"), max_length=100)
    exponent = models.PositiveSmallIntegerField(_("exponent"))
    active = models.BooleanField(_("active"), default=True)

    objects = CurrencyQuerySet.as_manager()

    class Meta:
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self, company: Company | None = None) -> str:
        code = company.code if company is not None else ""
        return reverse("ledger:currency_detail", kwargs={"company": code, "pk": self.pk})


class ExchangeRate(CompanyOwned):
    """``1 from_currency = rate to_currency`` on ``date``, as the company records it.

    The rate is a ``DecimalField`` (20 digits, 10 places) on both databases: rates are not
    money. The service limits a rate to 15 significant digits so that it round-trips exactly
    through SQLite's NUMERIC storage as well.
    """

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered")
        CSV = "csv", _("CSV import")
        ECB = "ecb", _("ECB reference rates")

    date = models.DateField(_("date"))
    from_currency = models.ForeignKey(
        Currency,
        to_field="code",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("from currency"),
    )
    to_currency = models.ForeignKey(
        Currency,
        to_field="code",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("to currency"),
    )
    rate = models.DecimalField(_("rate"), max_digits=20, decimal_places=10)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.MANUAL
    )

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["-date", "from_currency", "to_currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "date", "from_currency", "to_currency"],
                name="ledger_rate_unique_per_day",
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="ledger_rate_positive"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.date} 1 {self.from_currency_id} = {self.rate.normalize()} {self.to_currency_id}"
        )


class AccountType(models.TextChoices):
    ASSET = "asset", _("Asset")
    LIABILITY = "liability", _("Liability")
    EQUITY = "equity", _("Equity")
    INCOME = "income", _("Income")
    EXPENSE = "expense", _("Expense")


class AccountSubtype(models.TextChoices):
    NONE = "", _("None")
    RECEIVABLE = "receivable", _("Receivable")
    PAYABLE = "payable", _("Payable")
    BANK = "bank", _("Bank")
    CASH = "cash", _("Cash")
    TAX = "tax", _("Tax")
    INVENTORY = "inventory", _("Inventory")
    FIXED_ASSET = "fixed_asset", _("Fixed asset")
    DEPRECIATION = "depreciation", _("Depreciation")
    RETAINED_EARNINGS = "retained_earnings", _("Retained earnings")
    RESULT = "result", _("Result of the year")
    OTHER = "other", _("Other")


PARTNER_SUBTYPES = frozenset({AccountSubtype.RECEIVABLE, AccountSubtype.PAYABLE})


class Account(CompanyOwned):
    """An account of the company's chart: a group (not postable) or a postable account."""

    code = models.CharField(_("code"), max_length=20)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    level = models.PositiveSmallIntegerField(_("level"), default=0, editable=False)
    name_es = models.CharField(_("name (Spanish)"), max_length=200, blank=True)
    name_it = models.CharField(_("name (Italian)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    type = models.CharField(_("type"), max_length=10, choices=AccountType.choices)
    subtype = models.CharField(
        _("subtype"), max_length=20, choices=AccountSubtype.choices, blank=True, default=""
    )
    postable = models.BooleanField(_("postable"), default=True)
    active = models.BooleanField(_("active"), default=True)
    reconcilable = models.BooleanField(_("reconcilable"), default=False)
    default_currency = models.ForeignKey(
        Currency,
        to_field="code",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default currency"),
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="ledger_account_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        """The name in the active language, falling back to the others."""
        language = (get_language() or "en")[:2]
        names = {"es": self.name_es, "it": self.name_it, "en": self.name_en}
        return names.get(language) or self.name_en or self.name_es or self.name_it

    def get_absolute_url(self) -> str:
        return reverse(
            "ledger:account_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class LedgerSettings(CompanyOwned):
    """Lock dates of a company's books.

    ``hard_lock_date``: nobody posts on or before it. ``lock_date`` (on or after the hard
    one): only holders of ``ledger.post_before_lock`` (chief accountants) post on or before it.
    """

    hard_lock_date = models.DateField(_("lock date for everyone"), null=True, blank=True)
    lock_date = models.DateField(
        _("lock date for all but chief accountants"), null=True, blank=True
    )
    exchange_gain_account = models.ForeignKey(
        "Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("exchange gains account"),
        help_text=_("Exchange differences in favour: rounding on posting and revaluation."),
    )
    exchange_loss_account = models.ForeignKey(
        "Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("exchange losses account"),
        help_text=_("Exchange differences against: rounding on posting and revaluation."),
    )

    class Meta:
        verbose_name = _("ledger settings")
        verbose_name_plural = _("ledger settings")
        permissions = [("post_before_lock", _("Can post before the lock date"))]
        constraints = [
            models.UniqueConstraint(fields=["company"], name="ledger_settings_one_per_company"),
        ]

    def __str__(self) -> str:
        return str(_("Ledger settings"))


class FiscalYear(CompanyOwned):
    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("state", "Open")
        CLOSED = "closed", pgettext_lazy("state", "Closed")

    name = models.CharField(_("name"), max_length=20)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)

    class Meta:
        verbose_name = _("fiscal year")
        verbose_name_plural = _("fiscal years")
        ordering = ["-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="ledger_fy_name_unique"),
            models.CheckConstraint(
                condition=models.Q(end_date__gt=models.F("start_date")), name="ledger_fy_dates"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Period(CompanyOwned):
    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("state", "Open")
        CLOSED = "closed", pgettext_lazy("state", "Closed")

    fiscal_year = models.ForeignKey(
        FiscalYear, on_delete=models.CASCADE, related_name="periods", verbose_name=_("fiscal year")
    )
    number = models.PositiveSmallIntegerField(_("number"))
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)

    class Meta:
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        ordering = ["start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "number"], name="ledger_period_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year.name}/{self.number:02d}"


class Journal(CompanyOwned):
    class Type(models.TextChoices):
        GENERAL = "general", _("General")
        SALES = "sales", _("Sales")
        PURCHASES = "purchases", _("Purchases")
        BANK = "bank", _("Bank")
        CASH = "cash", _("Cash")
        PAYROLL = "payroll", _("Payroll")

    code = models.CharField(_("code"), max_length=10)
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.GENERAL)
    number_format = models.CharField(
        _("number format"),
        max_length=60,
        default="{code}/{year}/{number:06d}",
        help_text=_("Placeholders: {code}, {year}, {number}; e.g. GEN/{year}/{number:06d}."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("journal")
        verbose_name_plural = _("journals")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="ledger_journal_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class JournalSequence(models.Model):
    """The last number given in a journal for a fiscal year. Locked and bumped by posting."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.ForeignKey(FiscalYear, on_delete=models.PROTECT, related_name="+")
    last_number = models.PositiveBigIntegerField(default=0)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journal", "fiscal_year"], name="ledger_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.journal_id}/{self.fiscal_year_id}: {self.last_number}"


class ChainHead(models.Model):
    """The end of a company's chain of posted entries; its row lock serialises posting."""

    company = models.OneToOneField(Company, on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=HASH_LENGTH, default="0" * HASH_LENGTH)

    objects = CompanyScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.company_id}: {self.seq}"


class CostCentre(CompanyOwned):
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("cost centre")
        verbose_name_plural = _("cost centres")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="ledger_cc_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Project(CompanyOwned):
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="ledger_project_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


# Entries and lines on PostgreSQL: each link to another record of the company (the entry's
# journal, fiscal year and reversed entry; the line's entry, account, cost centre and project)
# is a composite foreign key with the company, ``(journal_id, company_id)`` referencing the
# journal's ``(id, company_id)`` (migration 0012). The database then refuses a line whose
# account, or an entry whose journal, belongs to another company, and checks the company
# with the link: one check per link instead of two, at a million lines a few seconds of the
# commit. Those fields, and the company's, say ``db_constraint=False``: Django makes no
# single-column key for them. SQLite keeps the single-column keys it was created with
# (adding a key there would mean rebuilding the tables, and their triggers).


def _company_without_index() -> models.ForeignKey[Company, Company]:
    """``CompanyOwned.company`` without an index of its own, for the books' big tables whose
    composite indexes lead with the company (each index costs every insert), nor a foreign
    key of its own: the composite keys with the company check it (see above)."""
    return models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("company"),
        db_index=False,
        db_constraint=False,
    )


def _where_set(field: str, name: str) -> models.Index:
    """An index on ``field`` over the rows where it is set: for links empty on nearly every
    row (each index entry costs every insert; a lookup ``field = id`` uses the partial one)."""
    set_only = models.Q(**{f"{field}__isnull": False})
    return models.Index(fields=[field], condition=set_only, name=name)


class JournalEntry(CompanyOwned):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        POSTED = "posted", _("Posted")

    # Each index costs every insert (a bulk import writes hundreds of thousands of entries):
    # the company has no index of its own (the composite indexes lead with it), and the
    # source document and the reversed entry, empty on nearly every entry, have partial ones.
    company = _company_without_index()

    journal = models.ForeignKey(
        Journal,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("journal"),
        db_index=False,  # ledger_entry_sequence_unique leads with it
        db_constraint=False,
    )
    date = models.DateField(_("date"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    source_document = models.ForeignKey(
        "documents.Document",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("source document"),
        db_index=False,
    )
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        blank=True,
        help_text=_("Identifier in the system the entry came from; importing it twice is refused."),
    )
    # No index of its own: a year's entries are found by their dates; the key is looked up
    # by it only when a year without entries is deleted (a scan, once), while an index with
    # one value per year costs every posting (about 1 s per 500,000 entries on PostgreSQL).
    fiscal_year = models.ForeignKey(
        FiscalYear,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fiscal year"),
        db_index=False,
        db_constraint=False,
    )
    sequence_number = models.PositiveBigIntegerField(_("sequence number"), null=True, blank=True)
    number = models.CharField(_("number"), max_length=60, null=True, blank=True)
    reversal_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        verbose_name=_("reversal of"),
        db_index=False,
        db_constraint=False,
    )
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)
    posted_by = models.CharField(_("posted by"), max_length=150, blank=True)
    chain_seq = models.PositiveBigIntegerField(_("chain position"), null=True, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=HASH_LENGTH, blank=True)
    hash = models.CharField(_("hash"), max_length=HASH_LENGTH, blank=True)
    hash_version = models.PositiveSmallIntegerField(_("hash version"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["-date", "-id"]
        permissions = [("post_journalentry", _("Can post and reverse journal entries"))]
        indexes = [
            models.Index(fields=["company", "date"]),
            models.Index(fields=["company", "reference"], name="ledger_entry_reference"),
            _where_set("reversal_of", "ledger_entry_reversal_of"),
            _where_set("source_document", "ledger_entry_source_document"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                condition=models.Q(number__isnull=False),
                name="ledger_entry_number_unique",
            ),
            # Over every row (a draft's NULL number never clashes), so that it also serves
            # as the journal's index: a second index on the journal cost every posting.
            models.UniqueConstraint(
                fields=["journal", "fiscal_year", "sequence_number"],
                name="ledger_entry_sequence_unique",
            ),
            models.UniqueConstraint(
                fields=["company", "external_id"],
                condition=~models.Q(external_id=""),
                name="ledger_entry_external_id_unique",
            ),
            models.UniqueConstraint(
                fields=["company", "chain_seq"],
                condition=models.Q(chain_seq__isnull=False),
                name="ledger_entry_chain_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(state="draft", number__isnull=True)
                | models.Q(state="posted", number__isnull=False, chain_seq__isnull=False),
                name="ledger_entry_state_number",
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("Draft %(id)s") % {"id": self.pk})

    @property
    def is_posted(self) -> bool:
        return self.state == self.State.POSTED

    def get_absolute_url(self) -> str:
        return reverse(
            "ledger:journalentry_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )


class JournalEntryLine(CompanyOwned):
    # The company, entry and account have no index of their own: the composite indexes below
    # and the unique (entry, line_no) lead with them (each index costs every insert). Nor has
    # the currency (no query reads lines by currency alone; removing a currency is refused by
    # its foreign key, which then scans); the cost centre and project, empty on most lines,
    # have partial indexes.
    company = _company_without_index()
    entry = models.ForeignKey(
        JournalEntry,
        on_delete=models.CASCADE,
        related_name="lines",
        verbose_name=_("entry"),
        db_index=False,
        db_constraint=False,
    )
    line_no = models.PositiveIntegerField(_("line"))
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="lines",
        verbose_name=_("account"),
        db_index=False,
        db_constraint=False,
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    debit = models.BigIntegerField(_("debit"), default=0)
    credit = models.BigIntegerField(_("credit"), default=0)
    currency = models.ForeignKey(
        Currency,
        to_field="code",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("currency"),
        db_index=False,
    )
    amount_currency = models.BigIntegerField(_("amount in currency"), default=0)
    partner = models.CharField(_("partner"), max_length=200, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    cost_centre = models.ForeignKey(
        CostCentre,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cost centre"),
        db_index=False,
        db_constraint=False,
    )
    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("project"),
        db_index=False,
        db_constraint=False,
    )
    # Copies of the entry's date and chain position, written when the entry is posted (empty
    # on drafts; immutable afterwards like the rest of the line): the general ledger and the
    # edge days of a report read the posted lines of an account or of a range from the
    # indexes below without joining the entries. ``ledger verify`` checks they match.
    date = models.DateField(_("date"), null=True, blank=True, editable=False)
    chain_seq = models.PositiveBigIntegerField(
        _("chain position"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("journal entry line")
        verbose_name_plural = _("journal entry lines")
        ordering = ["entry", "line_no"]
        indexes = [
            models.Index(
                fields=["account", "date", "chain_seq", "line_no"], name="ledger_line_ledger_order"
            ),
            models.Index(fields=["company", "date"], name="ledger_line_company_date"),
            _where_set("cost_centre", "ledger_line_cost_centre"),
            _where_set("project", "ledger_line_project"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["entry", "line_no"], name="ledger_line_no_unique"),
            models.CheckConstraint(
                condition=models.Q(debit__gte=0, credit__gte=0)
                & (models.Q(debit=0) | models.Q(credit=0)),
                name="ledger_line_one_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry} #{self.line_no}"


class AccountBalance(models.Model):
    """Movements of an account in one currency in one month (company-currency minor units)."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    currency = models.ForeignKey(
        Currency, to_field="code", on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    debit = models.BigIntegerField(default=0)
    credit = models.BigIntegerField(default=0)
    amount_currency = models.BigIntegerField(default=0)
    lines = models.PositiveIntegerField(default=0)  # posted lines: the general ledger's count

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "currency", "year", "month"], name="ledger_balance_unique"
            ),
        ]
        indexes = [models.Index(fields=["company", "year", "month"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.currency_id} {self.year}-{self.month:02d}"

    def as_key(self) -> tuple[Any, ...]:
        return (self.account_id, self.currency_id, self.year, self.month)


class DayBalance(models.Model):
    """Movements of an account on one day, every currency together (company-currency minor
    units). The days of a partial month at either end of a range (a trial balance from the
    10th, the count of a general ledger page) are read from here rather than summed from the
    lines. Maintained in the posting transaction beside :class:`AccountBalance`."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    debit = models.BigIntegerField(default=0)
    credit = models.BigIntegerField(default=0)
    lines = models.PositiveIntegerField(default=0)  # posted lines

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="ledger_day_balance_unique"),
        ]
        indexes = [
            models.Index(
                fields=["company", "date", "account", "debit", "credit"],
                name="ledger_day_balance_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date}"


class DimensionBalance(models.Model):
    """Movements of an account in one month on one analytic dimension (cost centre or project).

    Only lines that carry the dimension have a row; company-currency minor units. Maintained in
    the posting transaction beside :class:`AccountBalance`.
    """

    class Dimension(models.TextChoices):
        COST_CENTRE = "cost_centre", _("Cost centre")
        PROJECT = "project", _("Project")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    dimension_id = models.PositiveBigIntegerField()
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    debit = models.BigIntegerField(default=0)
    credit = models.BigIntegerField(default=0)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "dimension", "dimension_id", "year", "month"],
                name="ledger_dimension_balance_unique",
            ),
        ]
        indexes = [models.Index(fields=["company", "dimension", "year", "month"])]

    def __str__(self) -> str:
        return (
            f"{self.account_id} {self.dimension}={self.dimension_id} {self.year}-{self.month:02d}"
        )


class Budget(CompanyOwned):
    """A budget of a fiscal year: amounts per account (and cost centre) per month.

    Written by :mod:`trastienda.ledger.budgets`. Its lines are :class:`BudgetLine`.
    """

    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=200)
    fiscal_year = models.ForeignKey(
        FiscalYear, on_delete=models.PROTECT, related_name="budgets", verbose_name=_("fiscal year")
    )
    notes = models.TextField(_("notes"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("budget")
        verbose_name_plural = _("budgets")
        ordering = ["-fiscal_year__start_date", "code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="ledger_budget_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("ledger:budget_detail", kwargs={"company": self.company.code, "pk": self.pk})


class BudgetLine(CompanyOwned):
    """The budgeted amount of an account (optionally of one cost centre) in one calendar month.

    ``year``/``month`` are a calendar month of the budget's fiscal year (one of its periods).
    ``amount`` is an integer in minor units of the company currency, on the account's natural
    side: income, liability and equity accounts credit minus debit, expense and asset accounts
    debit minus credit (so a sales budget and a cost budget are both positive).
    """

    budget = models.ForeignKey(
        Budget, on_delete=models.CASCADE, related_name="lines", verbose_name=_("budget")
    )
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    cost_centre = models.ForeignKey(
        CostCentre,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cost centre"),
    )
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    amount = models.BigIntegerField(_("amount"), default=0)

    class Meta:
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        ordering = ["budget", "account__code", "year", "month"]
        constraints = [
            # NULL cost centres are distinct in a plain unique constraint (both databases):
            # one constraint for the lines with a cost centre, one for those without.
            models.UniqueConstraint(
                fields=["budget", "account", "cost_centre", "year", "month"],
                condition=models.Q(cost_centre__isnull=False),
                name="ledger_budget_line_unique_cc",
            ),
            models.UniqueConstraint(
                fields=["budget", "account", "year", "month"],
                condition=models.Q(cost_centre__isnull=True),
                name="ledger_budget_line_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(month__gte=1, month__lte=12), name="ledger_budget_line_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.budget_id} {self.account_id} {self.year}-{self.month:02d}"

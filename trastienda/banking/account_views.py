"""Pages of bank accounts and reconciliation rules, under ``/c/<code>/banking/``.

- ``accounts/``: the generic list, detail, add, edit and delete of :class:`BankAccount`,
  writing through :mod:`trastienda.banking.services` (IBAN and BIC checked, a ledger account
  taken from the chart when none is chosen, the IBAN fixed once statements were imported,
  deletion refused then). The detail page compares the balance per the statements (the
  latest closing balance) with the balance of the account's ledger account, and counts the
  lines still to reconcile.
- ``accounts/<pk>/mapping/``: how this bank's CSV/XLSX statements are read
  (:class:`~trastienda.banking.formats.tabular.ColumnMapping`), with a sample file's first rows
  and the first movements read with the mapping, saved by ``column_mapping_save``.
- ``rules/``: the generic pages of :class:`ReconciliationRule`, writing through
  :mod:`trastienda.banking.rules`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import include, path
from django.utils.translation import gettext as _

from trastienda.banking import rules, services
from trastienda.banking.account_filters import BankAccountFilterSet, ReconciliationRuleFilterSet
from trastienda.banking.account_forms import (
    BankAccountForm,
    ColumnMappingForm,
    ReconciliationRuleForm,
)
from trastienda.banking.account_queries import Balances, balances, money
from trastienda.banking.account_tables import (
    BankAccountTable,
    ReconciliationRuleTable,
    bank_accounts_annotated,
    iban_display,
)
from trastienda.banking.formats.base import ParsedStatement, StatementFormatError
from trastienda.banking.models import BankAccount, ReconciliationRule, Statement, StatementLine
from trastienda.core.generic import (
    CompanyView,
    ObjectDetailView,
    ObjectViews,
    company_url,
)
from trastienda.core.permissions import has_perm, model_perm

PREVIEW_LINES = 10


def balances_display(found: Balances) -> dict[str, Any]:
    """The account page's balances as text with their currency."""
    currency = found.currency
    return {
        "statement": money(found.statement, currency),
        "statement_date": found.statement_date,
        "ledger_today": money(found.ledger_today, currency),
        "ledger_at_statement": money(found.ledger_at_statement, currency),
        "difference": money(found.difference, currency),
        "open_lines": found.open_lines,
        "open_amount": money(found.open_amount, currency),
    }


# --- bank accounts ----------------------------------------------------------------------------


class BankAccountDetailView(ObjectDetailView):
    """The generic detail plus balances, lines to reconcile, the latest statements and links
    to import, reconcile and the column mapping."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        account = extra.get("object")
        if account is None:
            return ctx
        request = self.request
        ctx.update(
            balances=balances_display(balances(account)),
            statements=list(
                Statement.objects.filter(bank_account=account)
                .select_related("company", "bank_account")
                .order_by("-end_date", "-id")[:5]
            ),
            statement_count=Statement.objects.filter(bank_account=account).count(),
            rule_count=ReconciliationRule.objects.filter(bank_account=account).count(),
            mapping=ColumnMappingForm.initial_from(account.column_mapping)
            if account.column_mapping
            else None,
            statements_url=company_url(request, "banking:statement_list")
            + f"?bank_account={account.pk}",
            lines_url=company_url(request, "banking:statementline_list")
            + f"?bank_account={account.pk}&unreconciled=true",
            reconcile_url=company_url(request, "banking:reconcile") + f"?account={account.pk}",
            import_url=company_url(request, "banking:statement_import")
            + f"?bank_account={account.pk}",
            mapping_url=company_url(request, "banking:bankaccount_mapping", pk=account.pk),
            rules_url=company_url(request, "banking:reconciliationrule_list")
            + f"?bank_account={account.pk}",
            can_import=has_perm(request, "banking.add_statement"),
            can_view_lines=has_perm(request, model_perm(StatementLine, "view")),
        )
        return ctx


class BankAccountViews(ObjectViews):
    model = BankAccount
    table = BankAccountTable
    filterset = BankAccountFilterSet
    form = BankAccountForm
    select_related = ("company", "account", "journal")
    detail_view = BankAccountDetailView
    detail_template = "banking/bankaccount_detail_extra.html"
    detail_fields = (
        *services.BANK_ACCOUNT_FIELDS,
        "created_at",
    )
    create_service = services.bank_account_create
    delete_service = services.bank_account_delete

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> QuerySet[Any]:
        return bank_accounts_annotated(super().get_queryset(request))

    @classmethod
    def update(cls, request: HttpRequest, instance: Any, data: dict[str, Any]) -> Any:
        # The edit form has already copied the typed values onto ``instance`` (ModelForm
        # validation does): the service compares with the stored row, so it gets that.
        stored = BankAccount.objects.select_related("company").get(pk=instance.pk)
        return services.bank_account_update(instance=stored, **data)

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        return [
            (label, iban_display(obj.iban) if name == "iban" else value)
            for name, (label, value) in zip(
                cls.detail_fields, super().detail_values(obj), strict=True
            )
        ]


@dataclass(frozen=True)
class ReadLine:
    date: dt.date
    value_date: dt.date | None
    amount: str
    description: str
    reference: str
    counterparty: str


@dataclass(frozen=True)
class TrialRead:
    """The first movements of a sample file read with the mapping, or why it cannot be."""

    lines: list[ReadLine]
    count: int
    opening: str | None
    closing: str | None
    error: str


def trial_read(content: bytes, filename: str, mapping: dict[str, Any], currency: str) -> TrialRead:
    from trastienda.banking.formats import read_statement

    try:
        statements: list[ParsedStatement] = read_statement(
            content, filename, mapping=mapping, currency=currency
        )
    except StatementFormatError as exc:
        return TrialRead([], 0, None, None, str(exc))
    except ValueError as exc:
        return TrialRead([], 0, None, None, str(exc))
    parsed = statements[0] if statements else None
    if parsed is None:
        return TrialRead([], 0, None, None, _("The file holds no statement."))
    return TrialRead(
        lines=[
            ReadLine(
                date=line.booking_date,
                value_date=line.value_date,
                amount=str(line.amount),
                description=line.description,
                reference=line.reference,
                counterparty=line.counterparty_name,
            )
            for line in parsed.lines[:PREVIEW_LINES]
        ],
        count=len(parsed.lines),
        opening=None if parsed.opening_balance is None else str(parsed.opening_balance),
        closing=None if parsed.closing_balance is None else str(parsed.closing_balance),
        error="",
    )


class BankAccountMappingView(CompanyView):
    """GET: the mapping form with the saved settings. POST ``action=preview``: show a sample
    file's first rows (and, when the settings are complete, its first movements read with
    them) without saving; ``action=save``: save the settings."""

    views = BankAccountViews
    template_name = "banking/bankaccount_mapping.html"

    def get_required_perm(self) -> str:
        return model_perm(BankAccount, "change")

    def page(self, account: BankAccount, form: ColumnMappingForm, **extra: Any) -> HttpResponse:
        status = extra.pop("status", 200)
        title = _("CSV/XLSX column mapping")
        ctx = self.base_context(object=account, form=form, title=title, **extra)
        ctx["breadcrumbs"].append({"label": str(account), "url": account.get_absolute_url()})
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.get_object()
        form = ColumnMappingForm(initial=ColumnMappingForm.initial_from(account.column_mapping))
        return self.page(account, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        from trastienda.banking.formats.tabular import ColumnMapping, ColumnMappingError

        account = self.get_object()
        form = ColumnMappingForm(request.POST, request.FILES)
        saving = request.POST.get("action", "save") != "preview"
        parsed: ColumnMapping | None = None
        if form.is_valid():
            try:
                parsed = ColumnMapping.from_dict(form.mapping_dict())
            except ColumnMappingError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                parsed = None
        extra = self.sample_context(form, parsed, account)
        if not saving or parsed is None:
            return self.page(account, form, status=400 if saving else 200, **extra)
        try:
            services.column_mapping_save(instance=account, mapping=parsed.to_dict())
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            return self.page(account, form, status=400, **extra)
        messages.success(
            request,
            _("The column mapping of %(account)s is saved.") % {"account": account.name},
        )
        return HttpResponseRedirect(account.get_absolute_url())

    def sample_context(
        self, form: ColumnMappingForm, parsed: Any, account: BankAccount
    ) -> dict[str, Any]:
        """The sample file's first rows as they are (columns numbered) and, with a complete
        mapping, its first movements as the import will read them."""
        from trastienda.banking.formats.tabular import preview

        sample = getattr(form, "cleaned_data", {}).get("sample")
        if not sample:
            return {}
        content = sample.read()
        extra: dict[str, Any] = {}
        try:
            rows = preview(content, sample.name, parsed)
        except StatementFormatError as exc:
            extra["preview_error"] = str(exc)
        else:
            width = max((len(row) for row in rows), default=0)
            extra["preview_columns"] = list(range(1, width + 1))
            extra["preview_rows"] = [row + [""] * (width - len(row)) for row in rows]
        if parsed is not None:
            extra["trial"] = trial_read(content, sample.name, parsed.to_dict(), account.currency)
        return extra


# --- reconciliation rules ---------------------------------------------------------------------


class ReconciliationRuleViews(ObjectViews):
    model = ReconciliationRule
    table = ReconciliationRuleTable
    filterset = ReconciliationRuleFilterSet
    form = ReconciliationRuleForm
    select_related = ("company", "bank_account", "account")
    detail_fields = (
        "name",
        "priority",
        "bank_account",
        "text_contains",
        "direction",
        "account",
        "entry_description",
        "auto_post",
        "active",
    )
    create_service = rules.rule_create
    update_service = rules.rule_update
    delete_service = rules.rule_delete

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        return [
            (label, _("Every bank account") if name == "bank_account" and value is None else value)
            for name, (label, value) in zip(
                cls.detail_fields, super().detail_values(obj), strict=True
            )
        ]


urlpatterns: list[Any] = [
    path("accounts/", include(BankAccountViews.urls())),
    path(
        "accounts/<int:pk>/mapping/",
        BankAccountMappingView.as_view(),
        name="bankaccount_mapping",
    ),
    path("rules/", include(ReconciliationRuleViews.urls())),
]

__all__ = [
    "BankAccountMappingView",
    "BankAccountViews",
    "ReconciliationRuleViews",
]

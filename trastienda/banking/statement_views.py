"""Pages of imported bank statements and their lines, under ``/c/<code>/banking/``.

- ``statements/``: the generic list and detail of :class:`Statement` (the detail lists the
  statement's lines with their state, its totals and balances); deleting one goes through
  :func:`trastienda.banking.services.statement_delete` (refused once a line is reconciled);
  a statement is never edited.
- ``statement-lines/``: the generic list and detail of :class:`StatementLine`, filtered by
  bank account, state, dates, amounts and text; the detail shows the line's reconciliations
  and leads to the reconciliation screen. Lines are neither added, edited nor deleted here:
  they come and go with their statement.
- ``statements/import/``: upload a statement file. Files up to :data:`SYNC_MAX_BYTES` are
  imported in the request and the result is shown; larger ones are imported by the job
  ``banking.statement_import`` (:mod:`trastienda.banking.jobs`), whose page shows the
  progress. A refused file imports nothing and its problems are listed by statement and line.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import include, path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tables2 import RequestConfig

from trastienda.banking import services
from trastienda.banking.models import Reconciliation, Statement, StatementLine
from trastienda.banking.statement_filters import StatementFilterSet, StatementLineFilterSet
from trastienda.banking.statement_forms import (
    SYNC_MAX_BYTES,
    StatementImportForm,
    check_statement_upload,
)
from trastienda.banking.statement_tables import (
    OPEN_STATES,
    StatementLinesTable,
    StatementLineTable,
    StatementTable,
    statements_annotated,
)
from trastienda.core.errors import errors_by_place as import_errors
from trastienda.core.generic import (
    CompanyView,
    ObjectDetailView,
    ObjectListView,
    ObjectViews,
    RefusedBulkDeleteView,
    RefusedDeleteView,
    RefusedEditView,
    company_url,
)
from trastienda.core.models import Company, Job
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm, model_perm
from trastienda.matching.models import MatchException

IMPORT_PERM = "banking.add_statement"
LINE_SOURCE = "banking.statementline"
LINES_PER_PAGE = 100


def money(minor: int | None, currency: str) -> str | None:
    """``"1234.56 EUR"`` (None stays None)."""
    if minor is None:
        return None
    return f"{Money(int(minor), currency).to_decimal()} {currency}"


# --- statements -------------------------------------------------------------------------------


class StatementListView(ObjectListView):
    """The generic list; "Add" is the import page."""

    template_name = "banking/statement_list.html"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_add"] = False
        ctx["can_import"] = has_perm(self.request, IMPORT_PERM)
        ctx["import_url"] = company_url(self.request, "banking:statement_import")
        return ctx


class StatementDetailView(ObjectDetailView):
    """The generic detail plus the statement's balances, totals and lines (paginated)."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_change"] = False
        statement = extra.get("object")
        if statement is None:
            return ctx
        request = self.request
        currency = statement.bank_account.currency
        lines = statement.lines.all()
        by_state = dict(
            lines.order_by().values_list("state").annotate(n=Count("pk")).values_list("state", "n")
        )
        open_amount = (
            lines.filter(state__in=OPEN_STATES).aggregate(total=Sum("open_amount"))["total"] or 0
        )
        computed = None
        if statement.opening_balance is not None:
            computed = statement.opening_balance + statement.credit_total - statement.debit_total
        table = StatementLinesTable(
            lines.select_related("company").order_by("sequence", "pk"), request=request
        )
        RequestConfig(request, paginate={"per_page": LINES_PER_PAGE}).configure(table)
        ctx.update(
            currency=currency,
            lines_table=table,
            totals={
                "opening": money(statement.opening_balance, currency),
                "credit": money(statement.credit_total, currency),
                "debit": money(-statement.debit_total, currency),
                "computed": money(computed, currency),
                "closing": money(statement.closing_balance, currency),
                "adds_up": computed is None
                or statement.closing_balance is None
                or computed == statement.closing_balance,
                "open_amount": money(open_amount, currency),
            },
            states=[
                (label, by_state.get(value, 0), value)
                for value, label in StatementLine.State.choices
            ],
            lines_url=company_url(request, "banking:statementline_list")
            + f"?statement={statement.pk}",
            reconcile_url=company_url(request, "banking:reconcile")
            + f"?account={statement.bank_account_id}",
            can_reconcile=has_perm(request, model_perm(StatementLine, "view")),
            has_open=any(by_state.get(state, 0) for state in OPEN_STATES),
        )
        return ctx


class StatementViews(ObjectViews):
    model = Statement
    table = StatementTable
    filterset = StatementFilterSet
    select_related = ("company", "bank_account", "imported_by")
    list_view = StatementListView
    detail_view = StatementDetailView
    edit_view = RefusedEditView
    detail_template = "banking/statement_detail_extra.html"
    detail_fields = (
        "bank_account",
        "format",
        "reference",
        "filename",
        "start_date",
        "end_date",
        "opening_balance",
        "credit_total",
        "debit_total",
        "closing_balance",
        "line_count",
        "imported_by",
        "created_at",
    )
    delete_service = services.statement_delete

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> QuerySet[Any]:
        return statements_annotated(super().get_queryset(request))

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        currency = obj.bank_account.currency
        amounts = {"opening_balance", "closing_balance", "credit_total", "debit_total"}
        return [
            (label, money(getattr(obj, name), currency) if name in amounts else value)
            for name, (label, value) in zip(
                cls.detail_fields, super().detail_values(obj), strict=True
            )
        ]


# --- statement lines --------------------------------------------------------------------------


class StatementLineListView(ObjectListView):
    """The generic list, read only: lines come and go with their statement."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(can_add=False, can_delete=False)
        return ctx

    def apply_columns(self, table: Any, columns: list[str]) -> None:
        super().apply_columns(table, columns)
        table.columns.hide("pk")


@dataclass(frozen=True)
class ReconciliationRow:
    reconciliation: Reconciliation
    amount: str
    payment_url: str
    entry_url: str


class StatementLineDetailView(ObjectDetailView):
    """The generic detail plus the line's reconciliations, its place in the exception queue
    and a link to the reconciliation screen."""

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(can_change=False, can_delete=False)
        line = extra.get("object")
        if line is None:
            return ctx
        request = self.request
        rows = []
        for item in line.reconciliations.select_related(
            "payment", "payment__company", "entry", "entry__company", "created_by", "undone_by"
        ).order_by("created_at", "pk"):
            rows.append(
                ReconciliationRow(
                    reconciliation=item,
                    amount=money(item.amount, line.currency) or "",
                    payment_url=item.payment.get_absolute_url() if item.payment else "",
                    entry_url=item.entry.get_absolute_url() if item.entry else "",
                )
            )
        ctx.update(
            reconciliations=rows,
            still_open=line.state in OPEN_STATES,
            reconcile_url=company_url(request, "banking:reconcile") + f"?line={line.pk}",
            can_reconcile=has_perm(request, model_perm(StatementLine, "view")),
            exception=MatchException.objects.for_company(line.company)
            .filter(source=LINE_SOURCE, object_id=line.pk, state=MatchException.State.OPEN)
            .select_related("owner")
            .first(),
        )
        return ctx


class StatementLineViews(ObjectViews):
    model = StatementLine
    table = StatementLineTable
    filterset = StatementLineFilterSet
    select_related = ("company", "bank_account")
    list_view = StatementLineListView
    detail_view = StatementLineDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_template = "banking/statementline_detail_extra.html"
    detail_fields = (
        "bank_account",
        "statement",
        "sequence",
        "booking_date",
        "value_date",
        "amount",
        "open_amount",
        "state",
        "description",
        "counterparty_name",
        "counterparty_iban",
        "reference",
        "bank_reference",
        "transaction_code",
    )

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        amounts = {"amount", "open_amount"}
        return [
            (label, money(getattr(obj, name), obj.currency) if name in amounts else value)
            for name, (label, value) in zip(
                cls.detail_fields, super().detail_values(obj), strict=True
            )
        ]


# --- import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    lines: int
    money_in: str
    money_out: str


def result_totals(result: services.ImportResult) -> list[CurrencyTotal]:
    """Lines, money in and money out of an import, per currency (one in the usual case)."""
    sums: dict[str, list[int]] = {}
    for statement in result.statements:
        row = sums.setdefault(statement.bank_account.currency, [0, 0, 0])
        row[0] += statement.line_count
        row[1] += statement.credit_total
        row[2] += statement.debit_total
    return [
        CurrencyTotal(
            currency=currency,
            lines=lines,
            money_in=str(Money(money_in, currency).to_decimal()),
            money_out=str(Money(money_out, currency).to_decimal()),
        )
        for currency, (lines, money_in, money_out) in sorted(sums.items())
    ]


def result_message(result: services.ImportResult) -> str:
    return ngettext(
        "%(statements)d statement imported with %(lines)d movements.",
        "%(statements)d statements imported with %(lines)d movements.",
        len(result.statements),
    ) % {"statements": len(result.statements), "lines": result.lines}


def store_upload(company: Company, upload: Any, extension: str) -> str:
    """Save an upload in the default storage for a job; returns its storage name."""
    upload.seek(0)
    return default_storage.save(
        f"imports/banking/{company.code}/{secrets.token_hex(16)}.{extension or 'dat'}",
        ContentFile(upload.read()),
    )


def start_import_job(request: Any, upload: Any, bank_account: Any) -> Job:
    """Queue the job ``banking.statement_import`` for a stored copy of ``upload``."""
    from trastienda.core.jobs import job_start

    name, extension = check_statement_upload(upload)
    company = request.company
    stored = store_upload(company, upload, extension)
    return job_start(
        company=company,
        user=request.user,
        kind="banking.statement_import",  # trastienda.banking.jobs.import_statement
        description=_("Import of the bank statement %(name)s") % {"name": name},
        params={
            "path": stored,
            "filename": name,
            "bank_account": bank_account.pk if bank_account is not None else "",
        },
    )


class StatementImportView(CompanyView):
    """GET: the upload form (``?bank_account=<pk>`` preselects the account). POST: import."""

    views = StatementViews
    template_name = "banking/statement_import.html"
    required_perm = IMPORT_PERM

    def page(self, form: StatementImportForm, *, status: int = 200, **extra: Any) -> HttpResponse:
        title = _("Import a bank statement")
        ctx = self.base_context(form=form, title=title, max_bytes=SYNC_MAX_BYTES, **extra)
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {}
        chosen = request.GET.get("bank_account", "")
        if re.fullmatch(r"\d+", chosen):
            initial["bank_account"] = int(chosen)
        return self.page(StatementImportForm(initial=initial, company=request.company))  # type: ignore[attr-defined]

    def post(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        form = StatementImportForm(request.POST, request.FILES, company=company)
        if not form.is_valid():
            return self.page(form, status=400)
        upload = form.cleaned_data["file"]
        bank_account = form.cleaned_data.get("bank_account")
        if upload.size > SYNC_MAX_BYTES:
            from trastienda.core.jobs import job_url

            return HttpResponseRedirect(job_url(start_import_job(request, upload, bank_account)))
        name, _extension = check_statement_upload(upload)
        try:
            result = services.statement_import(
                company=company,
                content=upload.read(),
                filename=name,
                bank_account=bank_account,
                user=request.user,
            )
        except ValidationError as exc:
            return self.page(form, status=400, errors=import_errors(exc))
        accounts = {statement.bank_account_id for statement in result.statements}
        reconcile_url = company_url(request, "banking:reconcile")
        if len(accounts) == 1:
            reconcile_url += f"?account={next(iter(accounts))}"
        return self.page(
            StatementImportForm(company=company, initial={"bank_account": bank_account}),
            result=result,
            message=result_message(result),
            totals=result_totals(result),
            reconcile_url=reconcile_url,
            can_reconcile=has_perm(request, model_perm(StatementLine, "view")),
        )


urlpatterns: list[Any] = [
    path("statements/import/", StatementImportView.as_view(), name="statement_import"),
    path("statements/", include(StatementViews.urls())),
    path("statement-lines/", include(StatementLineViews.urls())),
]

__all__ = [
    "StatementImportView",
    "StatementLineViews",
    "StatementViews",
    "import_errors",
    "start_import_job",
]

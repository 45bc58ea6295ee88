"""Issuing many sales invoices at once (imports from another system, a month's recurring
run): all or nothing, with the same rules, numbers and journal entries as issuing one.

:func:`invoices_issue_bulk` reads every invoice with the services' own parsers (a shared
:class:`~trastienda.billing.services.Lookups`, so each partner, product and tax is read once),
computes the totals with :mod:`~trastienda.billing.calc`, and checks what issuing checks
(partner not blocked, a tax id on full invoices, an open fiscal year, a series). Any problem
→ ValidationError keyed ``invoices[N].field`` / ``invoices[N].lines[M].field``, nothing
written. Then, in one transaction: per series and year the sequence row is bumped once for
the whole block (dates must not go back: the batch is numbered in date order and its first
date may not precede the series' last), the journal entries go through the ledger's bulk
posting (:mod:`trastienda.ledger.bulk`: the same checks, numbers, chain and balances as one
posting), and the invoices, lines, taxes and instalments are inserted with set-based
statements and one audit event for the batch.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trastienda.audit.models import AuditAction
from trastienda.billing import services
from trastienda.billing.models import (
    Direction,
    Installment,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    InvoiceTax,
    Partner,
    Product,
    SeriesSequence,
    Tax,
)
from trastienda.core import context
from trastienda.core.db import analyze_after_commit, bare_instance, gc_paused
from trastienda.core.db import rows_insert as insert_rows
from trastienda.core.models import Company
from trastienda.ledger import bulk as ledger_bulk
from trastienda.ledger.models import Account, FiscalYear

Progress = Callable[[int, int, str], None]
HEADER_KEYS = frozenset(
    {
        "partner",
        "date",
        "kind",
        "series",
        "operation_date",
        "due_date",
        "currency",
        "rate",
        "payment_term",
        "notes",
        "language",
        "lines",
    }
)


@dataclass(frozen=True)
class BulkIssueResult:
    issued: int
    lines: int
    first_number: str = ""
    last_number: str = ""


@dataclass
class _Ready:
    index: int
    invoice: Invoice
    lines: list[services._Line]
    totals: Any
    year: FiscalYear
    plan: list[tuple[dt.date, int]] | None = None


def _years(company: Company) -> Callable[[dt.date], FiscalYear | None]:
    years = list(FiscalYear.objects.for_company(company))

    def find(date: dt.date) -> FiscalYear | None:
        for year in years:
            if year.start_date <= date <= year.end_date:
                return year
        return None

    return find


def _read(
    company: Company, specs: list[Mapping[str, Any]], progress: Progress | None
) -> list[_Ready]:
    lookups = services.Lookups(company)
    lookups.preload(Partner, "code", (str(s.get("partner") or "") for s in specs))
    codes = {
        str(t) for s in specs for line in s.get("lines") or () for t in line.get("taxes") or ()
    }
    lookups.preload(Tax, "code", codes)
    lookups.preload(
        Product,
        "sku",
        (str(line.get("product") or "") for s in specs for line in s.get("lines") or ()),
    )
    lookups.preload(
        Account,
        "code",
        (str(line.get("account") or "") for s in specs for line in s.get("lines") or ()),
    )
    year_of = _years(company)
    defaults: dict[str, InvoiceSeries | None] = {}
    errors: dict[str, list[str]] = {}
    ready: list[_Ready] = []
    user = context.current().user
    creator = user if getattr(user, "is_authenticated", False) else None
    for index, spec in enumerate(specs):
        found: dict[str, list[str]] = {}
        for name in sorted(set(spec) - HEADER_KEYS):
            found[name] = [_("Unknown field.")]
        header = {k: v for k, v in spec.items() if k in HEADER_KEYS and k != "lines"}
        values = services._header(company, Direction.SALE, header, found, lookups)
        partner: Partner | None = values.get("partner")
        currency = values.get("currency") or (
            (partner.currency if partner is not None else "") or company.base_currency
        )
        lines = services._parse_lines(
            company,
            Direction.SALE,
            currency,
            list(spec.get("lines") or ()),
            found,
            allow_negative=False,
            lookups=lookups,
        )
        if not lines and "lines" not in found:
            found["lines"] = [_("Add at least one line.")]
        # Built without Model.__init__ (a tenth of the batch's time through it): the row is
        # inserted by SQL (_insert), never saved; related objects set through descriptors.
        invoice = bare_instance(
            Invoice,
            {
                "direction": Direction.SALE,
                "date": values.get("date") or dt.date.min,
                "kind": values.get("kind") or Invoice.Kind.INVOICE,
                "operation_date": values.get("operation_date"),
                "due_date": values.get("due_date"),
                "currency": currency,
                "rate": values.get("rate") or Decimal(1),
                "notes": values.get("notes", ""),
                "language": values.get("language") or (partner.language if partner else ""),
            },
        )
        invoice.company = company
        if partner is not None:  # else partner_id stays empty: an error below
            invoice.partner = partner
        invoice.series = values.get("series")
        invoice.payment_term = values.get("payment_term") or (
            partner.payment_term if partner is not None else None
        )
        invoice.created_by = creator
        if currency == company.base_currency:
            invoice.rate = Decimal(1)
        year = year_of(invoice.date) if isinstance(invoice.date, dt.date) else None
        if partner is not None:
            services._check_draft(invoice, found)
            if invoice.kind == Invoice.Kind.CREDIT_NOTE:
                found.setdefault("kind", []).append(
                    _("Issue credit notes one by one, from the invoice they rectify.")
                )
            if partner.blocked:
                found.setdefault("partner", []).append(
                    _("%(partner)s is blocked: no new invoices until the block is lifted.")
                    % {"partner": partner}
                )
            if (
                not partner.tax_id
                and invoice.kind == Invoice.Kind.INVOICE
                and company.country in ("ES", "IT")
            ):
                found.setdefault("partner", []).append(
                    _("A full invoice needs the customer's tax id; issue a simplified invoice.")
                )
        if "date" not in found and year is None:
            found["date"] = [_("No fiscal year covers the date.")]
        if invoice.series is None and "kind" not in found:
            kind = str(invoice.kind)
            if kind not in defaults:
                defaults[kind] = services._default_series(invoice)
            invoice.series = defaults[kind]
            if invoice.series is None:
                found["series"] = [_("Choose a series for the number.")]
        for key, messages in found.items():
            errors[f"invoices[{index + 1}].{key}"] = messages
        if not found and year is not None:
            ready.append(
                _Ready(index, invoice, lines, services._totals(lines, currency, lookups), year)
            )
        if progress is not None and index % 1000 == 0:
            progress(index, len(specs), _("Checking invoices"))
    if errors:
        raise ValidationError(errors)
    return ready


def _take_block(series: InvoiceSeries, year: int, items: list[_Ready], company: Company) -> int:
    """Bump the series' sequence for ``year`` by ``len(items)``; the first number. The
    block's first date may not precede the last date issued in the series."""
    count = len(items)
    sql = (
        "UPDATE billing_seriessequence SET last_number = last_number + %s"
        " WHERE series_id = %s AND year = %s RETURNING last_number, last_date"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, series.pk, year])
        row = cursor.fetchone()
        if row is None:
            try:
                with transaction.atomic():
                    SeriesSequence.objects.create(company=company, series=series, year=year)
            except IntegrityError:
                pass
            cursor.execute(sql, [count, series.pk, year])
            row = cursor.fetchone()
    last_number, last_date = int(row[0]), row[1]
    if isinstance(last_date, str):
        last_date = dt.date.fromisoformat(last_date)
    first = items[0]
    if last_date is not None and first.invoice.date < last_date:
        raise ValidationError(
            {
                f"invoices[{first.index + 1}].date": [
                    _(
                        "The date cannot be before %(date)s, the date of the last invoice of "
                        "series %(series)s: numbers and dates go up together."
                    )
                    % {"date": last_date.isoformat(), "series": series.code}
                ]
            }
        )
    SeriesSequence.objects.filter(series=series, year=year).update(last_date=items[-1].invoice.date)
    return last_number - count + 1


def invoices_issue_bulk(
    *,
    company: Company,
    invoices: Iterable[Mapping[str, Any]],
    progress: Progress | None = None,
    allow_before_lock: bool = False,
    audit_extra: Mapping[str, Any] | None = None,
) -> BulkIssueResult:
    """Issue many sales invoices at once, all or nothing (see the module docstring).

    ``invoices``: mappings like :func:`services.invoice_create_draft`'s arguments (``partner``
    by code, ``date``, ``lines`` with products, taxes and accounts by code...).
    """
    with gc_paused():  # every invoice read stays alive until the batch is written
        specs = list(invoices)
        ready = _read(company, specs, progress)
    if not ready:
        return BulkIssueResult(0, 0)
    settings = services.billing_settings(company)
    groups: dict[tuple[int, int], list[_Ready]] = defaultdict(list)
    for item in ready:
        series = item.invoice.series
        if series is None:  # pragma: no cover - _read reported it
            raise ValidationError({f"invoices[{item.index + 1}].series": [_("No series.")]})
        groups[(series.pk, item.year.start_date.year)].append(item)
    now = timezone.now()
    kinds = {value: str(label) for value, label in Invoice.Kind.choices}
    with transaction.atomic():
        entries: list[dict[str, Any]] = []
        order: list[_Ready] = []
        for (_series_id, year), items in groups.items():
            items.sort(key=lambda r: (r.invoice.date, r.index))
            series = items[0].invoice.series
            assert series is not None  # noqa: S101 - grouped by series above
            first = _take_block(series, year, items, company)
            for offset, item in enumerate(items):
                invoice = item.invoice
                totals = item.totals
                invoice.sequence_year = year
                invoice.sequence_number = first + offset
                invoice.number = series.number_format.format(
                    code=series.code, year=item.year.name, number=first + offset
                )
                invoice.net_amount = totals.net
                invoice.tax_amount = totals.tax
                invoice.withholding_amount = totals.withholding
                invoice.total_amount = totals.total
                invoice.payable_amount = invoice.open_amount = totals.payable
                invoice.state = Invoice.State.ISSUED
                invoice.issued_at = now
                item.plan = services.installments_plan(invoice)
                if invoice.due_date is None:
                    invoice.due_date = max(due for due, _amount in item.plan)
                prepared_lines = [
                    services.PreparedLine(
                        number, line.account, line.product, line.cost_centre, net, line.taxes
                    )
                    for number, (line, net) in enumerate(
                        zip(item.lines, totals.line_nets, strict=True), start=1
                    )
                ]
                prepared_taxes = [
                    services.PreparedTax(_tax(row.tax.id, item.lines), row.base, row.amount)
                    for row in totals.taxes
                ]
                try:
                    lines = services._entry_lines(
                        invoice, item.plan, (prepared_lines, prepared_taxes), settings
                    )
                except ValidationError as exc:
                    raise _prefixed(exc, item.index) from exc
                entries.append(
                    {
                        "journal": series.journal,
                        "date": invoice.date,
                        "reference": invoice.number,
                        "description": f"{kinds[invoice.kind]} {invoice.number} · "
                        f"{invoice.partner.legal_name}"[:300],
                        "lines": lines,
                        "external_id": f"billing:{invoice.number}"[:100],
                    }
                )
                order.append(item)

        def locate(index: int, line_no: int | None) -> str:
            return f"invoices[{order[index].index + 1}].entry"

        plan = ledger_bulk.plan_entries(
            company=company, entries=entries, allow_before_lock=allow_before_lock
        )
        if plan.problems:
            raise ledger_bulk.problems_as_errors(plan.problems, locate)
        ledger_bulk.plan_post(plan, locate=locate, progress=progress)
        # Every entry is new (the invoice numbers were just taken), so each was posted.
        entry_ids = {e.external_id: e.id for e in plan.to_post}
        for item, entry in zip(order, entries, strict=True):
            item.invoice.entry_id = entry_ids[entry["external_id"]]
        _insert(company, order)
        analyze_after_commit(
            sum(len(item.lines) for item in order), Invoice, InvoiceLine, InvoiceTax, Installment
        )
        from trastienda.audit.services import audit_log

        numbers = sorted(i.invoice.number or "" for i in order)
        audit_log(
            action=AuditAction.OTHER,
            company=company,
            object_type="billing.invoice",
            object_repr=ngettext(
                "Bulk issue of %(count)d invoice", "Bulk issue of %(count)d invoices", len(order)
            )
            % {"count": len(order)},
            extra={
                "event": "invoices_issued_bulk",
                "invoices": len(order),
                "numbers": [numbers[0], numbers[-1]],
                **(audit_extra or {}),
            },
        )
    line_count = sum(len(i.lines) for i in order)
    return BulkIssueResult(
        len(order), line_count, order[0].invoice.number or "", order[-1].invoice.number or ""
    )


def _tax(tax_id: int, lines: list[services._Line]) -> Tax:
    for line in lines:
        for tax in line.taxes:
            if tax.pk == tax_id:
                return tax
    raise KeyError(tax_id)  # pragma: no cover - the totals come from these lines


def _prefixed(exc: ValidationError, index: int) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return ValidationError({f"invoices[{index + 1}]": exc.messages})
    return ValidationError({f"invoices[{index + 1}].{k}": v for k, v in exc.message_dict.items()})


INVOICE_COLUMNS = (
    *("company_id", "direction", "kind", "state", "payment_state", "partner_id", "series_id"),
    *("number", "sequence_year", "sequence_number", "supplier_reference", "date"),
    *("operation_date", "due_date", "currency", "rate", "payment_term_id", "rectifies_id"),
    *("rectification_reason", "notes", "language", "net_amount", "tax_amount"),
    *("withholding_amount", "total_amount", "payable_amount", "open_amount", "entry_id"),
    *("attachment_id", "recurring_id", "created_by_id", "approved_by_id", "approved_at"),
    *("issued_at", "created_at"),
)
LINE_COLUMNS = (
    *("company_id", "invoice_id", "line_no", "product_id", "description", "quantity", "unit"),
    *("unit_price", "discount", "account_id", "cost_centre_id", "net_amount"),
)
TAX_COLUMNS = ("company_id", "invoice_id", "tax_id", "base", "amount")
INSTALLMENT_COLUMNS = (
    *("company_id", "invoice_id", "partner_id", "direction", "due_date", "amount"),
    *("open_amount", "open_base"),
)


def _pk(obj: Any) -> Any:
    return obj.pk if obj is not None else None


def _insert(company: Company, order: list[_Ready]) -> None:
    """Insert the issued invoices and what hangs from them with plain multi-row statements
    (``COPY`` on PostgreSQL): the ORM's ``bulk_create`` spent most of the batch's time
    building model instances and SQL. Not audited row by row: the batch has one event."""
    ops = connection.ops
    adapt_date = ops.adapt_datefield_value
    now = ops.adapt_datetimefield_value(timezone.now())
    dates: dict[dt.date, Any] = {}

    def day(value: dt.date | None) -> Any:
        if value is None:
            return None
        if value not in dates:
            dates[value] = adapt_date(value)
        return dates[value]

    def number(value: Decimal) -> Any:
        return ops.adapt_decimalfield_value(value)

    issued_at = ops.adapt_datetimefield_value(order[0].invoice.issued_at)
    invoices = [item.invoice for item in order]
    rows = (
        (
            company.pk,
            i.direction,
            i.kind,
            i.state,
            i.payment_state,
            i.partner_id,
            i.series_id,
            i.number,
            i.sequence_year,
            i.sequence_number,
            i.supplier_reference,
            day(i.date),
            day(i.operation_date),
            day(i.due_date),
            i.currency,
            number(i.rate),
            i.payment_term_id,
            None,
            "",
            i.notes,
            i.language,
            i.net_amount,
            i.tax_amount,
            i.withholding_amount,
            i.total_amount,
            i.payable_amount,
            i.open_amount,
            i.entry_id,
            None,
            None,
            i.created_by_id,
            None,
            None,
            issued_at,
            now,
        )
        for i in invoices
    )
    insert_rows(Invoice._meta.db_table, INVOICE_COLUMNS, rows)
    entry_ids = [int(i.entry_id or 0) for i in invoices]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entry_id, id FROM billing_invoice"
            " WHERE company_id = %s AND entry_id >= %s AND entry_id <= %s",
            [company.pk, min(entry_ids), max(entry_ids)],
        )
        ids = dict(cursor.fetchall())
    for invoice in invoices:
        invoice.pk = invoice.id = int(ids[invoice.entry_id])
    insert_rows(
        InvoiceLine._meta.db_table,
        LINE_COLUMNS,
        (
            (
                company.pk,
                item.invoice.pk,
                n,
                _pk(line.product),
                line.description,
                number(line.quantity),
                line.unit,
                line.unit_price,
                number(line.discount),
                _pk(line.account),
                _pk(line.cost_centre),
                net,
            )
            for item in order
            for n, (line, net) in enumerate(
                zip(item.lines, item.totals.line_nets, strict=True), start=1
            )
        ),
    )
    low, high = min(i.pk for i in invoices), max(i.pk for i in invoices)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT invoice_id, line_no, id FROM billing_invoiceline"
            " WHERE invoice_id >= %s AND invoice_id <= %s",
            [low, high],
        )
        line_ids = {(invoice_id, line_no): pk for invoice_id, line_no, pk in cursor.fetchall()}
    through = InvoiceLine.taxes.through
    insert_rows(
        through._meta.db_table,
        ("invoiceline_id", "tax_id"),
        (
            (line_ids[(item.invoice.pk, n)], tax.pk)
            for item in order
            for n, line in enumerate(item.lines, start=1)
            for tax in line.taxes
        ),
    )
    insert_rows(
        InvoiceTax._meta.db_table,
        TAX_COLUMNS,
        (
            (company.pk, item.invoice.pk, row.tax.id, row.base, row.amount)
            for item in order
            for row in item.totals.taxes
        ),
    )
    insert_rows(
        Installment._meta.db_table,
        INSTALLMENT_COLUMNS,
        (
            (
                company.pk,
                item.invoice.pk,
                item.invoice.partner_id,
                item.invoice.direction,
                day(due),
                amount,
                amount,
                services._base_amount(item.invoice, amount),
            )
            for item in order
            for due, amount in item.plan or ()
        ),
    )

"""SEPA payment batches and direct debit mandates.

Every write goes through these functions (pages, API and jobs alike). Each validates first and
writes in one transaction; errors are ``ValidationError`` keyed by field (``lines[2].iban`` for
a line of a batch), and a refused call writes nothing.

**Batches.** A credit transfer batch (pain.001.001.03) pays issued supplier bills that are due;
a direct debit batch (pain.008.001.02) collects issued sales invoices of customers who signed a
mandate. One line per invoice for what is open of it. The workflow::

    draft --approve--> approved --export--> exported --reconcile_batch--> paid
      \\                   \\                   \\
       +--------------------+-------------------+--cancel--> cancelled

Approval is by a second person: whoever created the batch cannot approve it (the permission
``banking.approve_paymentbatch`` is checked by the page and the API). Exporting builds the file
with ``sepaxml``, validates it against the official ISO 20022 schema (``xsd/``) and stores it;
exporting again returns the same file. :func:`trastienda.banking.reconciliation.reconcile_batch`
marks the batch paid when its statement line is reconciled.

**Mandates.** CORE or B2B, with the mandate id and signature date. The first collection under a
mandate is FRST, the next ones RCUR (``Mandate.last_collected_on``, set when a file is
generated and recomputed when an exported batch is cancelled). A mandate not used for 36 months
has expired. A used mandate is revoked, never deleted, and its identifying fields do not change.

Money: integer minor units of the bank account's currency (SEPA: euros); Decimal only at the
edges; never float.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from trastienda.audit.models import AuditAction
from trastienda.audit.services import audit_log
from trastienda.banking.models import BankAccount, Mandate, PaymentBatch, PaymentBatchLine
from trastienda.billing.models import Direction, Installment, Invoice, Partner, PartnerBankAccount
from trastienda.billing.partners import bic_normalise, iban_normalise
from trastienda.core.models import Company
from trastienda.core.money import Money

SCHEMA_TRANSFER = "pain.001.001.03"
SCHEMA_DEBIT = "pain.008.001.02"
XSD_DIR = Path(__file__).resolve().parent / "xsd"
SEPA_CURRENCY = "EUR"
REMITTANCE_MAX = 140
NAME_MAX = 70
MANDATE_EXPIRY_MONTHS = 36
MANDATE_FIELDS = ("partner", "reference", "scheme", "iban", "bic", "signed_on")
# Fields that identify a mandate to the debtor's bank: fixed once it has been used.
MANDATE_FIXED_FIELDS = ("partner", "reference", "scheme", "iban", "signed_on")
# The SEPA character set of a mandate reference (EPC, "Mandate Identification").
MANDATE_REFERENCE = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]{1,35}")
OPEN_STATES = (
    PaymentBatch.State.DRAFT,
    PaymentBatch.State.APPROVED,
    PaymentBatch.State.EXPORTED,
)
CANCELLABLE = OPEN_STATES
TX_TAGS = {"CdtTrfTxInf", "DrctDbtTxInf"}
# Schema element of a transaction -> the field of PaymentBatchLine it comes from.
ELEMENT_FIELDS = {
    "IBAN": "iban",
    "BIC": "bic",
    "Ustrd": "remittance",
    "Nm": "name",
    "EndToEndId": "end_to_end_id",
    "InstdAmt": "amount",
    "MndtId": "mandate",
    "DtOfSgntr": "mandate",
}
SCHEMA_ERRORS_SHOWN = 10


def _raise(errors: Mapping[str, list[str]]) -> None:
    if errors:
        raise ValidationError(dict(errors))


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _money(minor: int, currency: str) -> Money:
    return Money(minor, currency)


# --- schema validation ----------------------------------------------------------------------


@lru_cache(maxsize=4)
def _schema(name: str) -> Any:
    import xmlschema

    path = XSD_DIR / f"{name}.xsd"
    if not path.is_file():
        raise ValueError(f"unknown SEPA schema {name!r}")
    return xmlschema.XMLSchema(str(path))


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def sepa_schema_errors(
    content: bytes | str,
    schema: str,
    lines: Sequence[PaymentBatchLine] = (),
) -> dict[str, list[str]]:
    """What makes ``content`` not a valid ``schema`` document, by field: ``lines[N].field``
    when the element belongs to the transaction of line N (matched by its EndToEndId), else
    ``xml``. Each message names the element's path and the schema's reason. Empty: valid."""
    import xmlschema

    text = content.decode("utf-8") if isinstance(content, bytes) else content
    try:
        resource = xmlschema.XMLResource(text, defuse="always")
    except Exception as exc:  # malformed XML: the parser's message says where
        return {"xml": [_("The file is not well-formed XML: %(why)s") % {"why": exc}]}
    root = resource.root
    parents = {child: parent for parent in root.iter() for child in parent}
    index = {line.end_to_end_id: number for number, line in enumerate(lines, start=1)}
    errors: dict[str, list[str]] = {}
    for shown, error in enumerate(_schema(schema).iter_errors(resource), start=1):
        if shown > SCHEMA_ERRORS_SHOWN:
            errors.setdefault("xml", []).append(_("… and more errors."))
            break
        element = getattr(error, "elem", None)
        path = getattr(error, "path", None) or "/"
        reason = getattr(error, "reason", None) or str(error)
        value = (element.text or "") if element is not None and len(element) == 0 else None
        message = _("%(path)s: %(reason)s") % {"path": path, "reason": reason}
        if value is not None:
            message += " " + _("(value “%(value)s”)") % {"value": value}
        key = "xml"
        node = element
        while node is not None and _local(node.tag) not in TX_TAGS:
            node = parents.get(node)
        if node is not None:
            e2e = next(
                (n.text for n in node.iter() if _local(n.tag) == "EndToEndId"),
                None,
            )
            number = index.get(e2e or "")
            if number is not None:
                field = ELEMENT_FIELDS.get(_local(element.tag), "") if element is not None else ""
                key = f"lines[{number}].{field}" if field else f"lines[{number}]"
                message = _("Payment %(e2e)s: %(message)s") % {"e2e": e2e, "message": message}
        errors.setdefault(key, []).append(message)
    if errors:
        errors.setdefault("xml", []).insert(
            0,
            _("The file does not follow the %(schema)s schema.") % {"schema": schema},
        )
    return errors


def sepa_validate(
    content: bytes | str, schema: str, lines: Sequence[PaymentBatchLine] = ()
) -> None:
    """Raise ValidationError (see :func:`sepa_schema_errors`) unless ``content`` is valid."""
    _raise(sepa_schema_errors(content, schema, lines))


# --- look-ups -------------------------------------------------------------------------------


def _bank_account(
    company: Company, value: Any, kind: str, errors: dict[str, list[str]]
) -> BankAccount | None:
    account: BankAccount | None = None
    if isinstance(value, BankAccount):
        account = value if value.company_id == company.pk else None
    elif value not in (None, ""):
        text = str(value).strip()
        queryset = BankAccount.objects.for_company(company)
        account = (
            queryset.filter(pk=int(text)).first()
            if text.isdigit()
            else queryset.filter(iban=re.sub(r"\s", "", text).upper()).first()
        )
    if account is None or not account.active:
        errors["bank_account"] = [_("Choose an active bank account of this company.")]
        return None
    problems = []
    if account.currency != SEPA_CURRENCY:
        problems.append(
            _("SEPA payments are in euros: %(account)s is in %(currency)s.")
            % {"account": account.name, "currency": account.currency}
        )
    if kind == PaymentBatch.Kind.DEBIT:
        if not account.creditor_id:
            problems.append(
                _("Enter the SEPA creditor identifier of %(account)s to collect direct debits.")
                % {"account": account.name}
            )
        if not account.bic:
            problems.append(
                _("Enter the BIC of %(account)s: direct debit files name the creditor's bank.")
                % {"account": account.name}
            )
    if problems:
        errors["bank_account"] = problems
    return account


def batch_bank_account(*, company: Company, bank_account: Any, kind: str) -> BankAccount:
    """The company's bank account (instance, id or IBAN) a batch of ``kind`` can use: active,
    in euros, with a creditor identifier and BIC for direct debits. ValidationError naming
    why not, under ``bank_account``."""
    errors: dict[str, list[str]] = {}
    account = _bank_account(company, bank_account, kind, errors)
    _raise(errors)
    if account is None:  # pragma: no cover - _raise raised
        raise ValidationError({"bank_account": [_("Choose a bank account.")]})
    return account


def _date(value: Any, name: str, errors: dict[str, list[str]], required: bool = True) -> Any:
    if value in (None, ""):
        if required:
            errors[name] = [_("Enter a date.")]
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors[name] = [_("Enter a valid date (YYYY-MM-DD).")]
        return None


def _in_open_batch() -> Exists:
    return Exists(
        PaymentBatchLine.objects.filter(invoice=OuterRef("pk")).exclude(
            batch__state=PaymentBatch.State.CANCELLED
        )
    )


def _open_invoices(company: Company, direction: str, currency: str) -> QuerySet[Invoice]:
    return (
        Invoice.objects.for_company(company)
        .filter(
            direction=direction,
            state=Invoice.State.ISSUED,
            open_amount__gt=0,
            currency=currency,
        )
        .exclude(kind=Invoice.Kind.CREDIT_NOTE)
    )


def _due_q(cutoff: dt.date) -> Q:
    """An invoice with an instalment still open on or before ``cutoff``."""
    instalments = Installment.objects.filter(invoice=OuterRef("pk"), due_date__lte=cutoff).exclude(
        open_amount=0
    )
    return Q(Exists(instalments)) | Q(due_date__lte=cutoff)


def _label(invoice: Invoice) -> str:
    return str(invoice)


def _chosen(
    company: Company,
    direction: str,
    currency: str,
    invoices: Iterable[Any],
    errors: dict[str, list[str]],
) -> list[int]:
    """Ids of the invoices chosen by hand, each checked; problems under ``invoices``."""
    wanted: list[int] = []
    for item in invoices:
        if isinstance(item, Invoice):
            wanted.append(item.pk)
        else:
            try:
                wanted.append(int(item))
            except (TypeError, ValueError):
                errors.setdefault("invoices", []).append(
                    _("%(value)s is not an invoice id.") % {"value": item}
                )
    found = {
        invoice.pk: invoice
        for invoice in Invoice.objects.for_company(company)
        .filter(pk__in=wanted)
        .annotate(in_batch=_in_open_batch())
    }
    what = _("bill") if direction == Direction.PURCHASE else _("invoice")
    result: list[int] = []
    for pk in dict.fromkeys(wanted):
        invoice = found.get(pk)
        problem = ""
        if invoice is None or invoice.direction != direction:
            problem = _("No %(what)s of this company has the id %(id)s.") % {"what": what, "id": pk}
        elif invoice.kind == Invoice.Kind.CREDIT_NOTE:
            problem = _("%(invoice)s is a credit note.") % {"invoice": invoice}
        elif invoice.state != Invoice.State.ISSUED:
            problem = _("%(invoice)s is not issued.") % {"invoice": invoice}
        elif invoice.open_amount <= 0:
            problem = _("%(invoice)s has nothing open.") % {"invoice": invoice}
        elif invoice.currency != currency:
            problem = _("%(invoice)s is in %(currency)s, the bank account in %(account)s.") % {
                "invoice": invoice,
                "currency": invoice.currency,
                "account": currency,
            }
        elif getattr(invoice, "in_batch", False):
            problem = _("%(invoice)s is already in a payment batch.") % {"invoice": invoice}
        if problem:
            errors.setdefault("invoices", []).append(problem)
        else:
            result.append(pk)
    if not wanted and "invoices" not in errors:
        errors["invoices"] = [_("Choose at least one %(what)s.") % {"what": what}]
    return result


# --- candidates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An invoice a batch would pay or collect, with what its line would carry; ``problem``
    says why it cannot (no IBAN, expired mandate…)."""

    invoice: Invoice
    amount: int
    currency: str
    name: str
    iban: str = ""
    bic: str = ""
    remittance: str = ""
    mandate: Mandate | None = None
    sequence_type: str = ""
    problem: str = ""

    @property
    def amount_decimal(self) -> Any:
        return _money(self.amount, self.currency).to_decimal()


def _ordered(queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return queryset.select_related("partner").order_by(
        "due_date", "partner__legal_name", "date", "id"
    )


def _select(
    company: Company,
    direction: str,
    currency: str,
    cutoff: dt.date,
    invoice_ids: list[int] | None,
) -> QuerySet[Invoice]:
    queryset = _open_invoices(company, direction, currency)
    if invoice_ids is None:
        queryset = queryset.filter(_due_q(cutoff)).exclude(_in_open_batch())
    else:
        queryset = queryset.filter(pk__in=invoice_ids)
    return _ordered(queryset)


def transfer_candidates(
    *,
    company: Company,
    bank_account: BankAccount,
    due_until: dt.date,
    invoice_ids: list[int] | None = None,
) -> list[Candidate]:
    """Supplier bills a transfer batch would pay: issued, something open, in the account's
    currency, an instalment due on or before ``due_until``, not in a batch that is not
    cancelled (or exactly ``invoice_ids``). Each with its supplier's default bank account."""
    bills = list(
        _select(company, Direction.PURCHASE, bank_account.currency, due_until, invoice_ids)
    )
    accounts = {
        account.partner_id: account
        for account in PartnerBankAccount.objects.filter(
            partner_id__in={bill.partner_id for bill in bills}, is_default=True
        ).order_by("id")
    }
    result = []
    for bill in bills:
        partner = bill.partner
        account = accounts.get(partner.pk)
        problem = ""
        if account is None or not account.iban:
            problem = _(
                "%(bill)s: the supplier %(partner)s has no default bank account (IBAN)."
            ) % {"bill": bill, "partner": partner.legal_name}
        else:
            try:
                iban_normalise(account.iban)
            except ValidationError as exc:
                problem = _("%(bill)s: the bank account of %(partner)s is wrong: %(why)s") % {
                    "bill": bill,
                    "partner": partner.legal_name,
                    "why": " ".join(exc.messages),
                }
        result.append(
            Candidate(
                invoice=bill,
                amount=bill.open_amount,
                currency=bill.currency,
                name=partner.legal_name[:NAME_MAX],
                iban=account.iban if account else "",
                bic=account.bic if account else "",
                remittance=(bill.supplier_reference or bill.number or _label(bill))[
                    :REMITTANCE_MAX
                ],
                problem=problem,
            )
        )
    return result


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def mandate_expired(mandate: Mandate, on: dt.date) -> bool:
    """A mandate not used for 36 months (since its last collection, or its signature if it
    was never used) has expired: the debtor's bank refuses collections under it."""
    since = mandate.last_collected_on or mandate.signed_on
    return _add_months(since, MANDATE_EXPIRY_MONTHS) < on


def _mandates_by_partner(
    company: Company, partner_ids: Iterable[int], scheme: str | None
) -> dict[int, list[Mandate]]:
    queryset = Mandate.objects.for_company(company).filter(
        partner_id__in=set(partner_ids), state=Mandate.State.ACTIVE
    )
    if scheme:
        queryset = queryset.filter(scheme=scheme)
    found: dict[int, list[Mandate]] = {}
    for mandate in queryset.order_by("-signed_on", "-id"):
        found.setdefault(mandate.partner_id, []).append(mandate)
    return found


def debit_candidates(
    *,
    company: Company,
    bank_account: BankAccount,
    collection_date: dt.date,
    due_until: dt.date,
    invoice_ids: list[int] | None = None,
    scheme: str | None = None,
) -> list[Candidate]:
    """Sales invoices a direct debit batch would collect: issued, something open, due on or
    before ``due_until``, not in a batch that is not cancelled, of a customer with an active
    mandate (of ``scheme`` when given), or exactly ``invoice_ids``. The mandate used is the
    most recently signed; the sequence type is FRST until the mandate's first collection."""
    invoices = list(_select(company, Direction.SALE, bank_account.currency, due_until, invoice_ids))
    mandates = _mandates_by_partner(company, (i.partner_id for i in invoices), scheme)
    result = []
    for invoice in invoices:
        partner = invoice.partner
        usable = mandates.get(partner.pk, [])
        if not usable and invoice_ids is None:
            continue  # not a direct debit customer: it is paid some other way
        mandate = usable[0] if usable else None
        problem = ""
        if mandate is None and scheme:
            problem = _(
                "%(invoice)s: the customer %(partner)s has no active %(scheme)s mandate."
            ) % {
                "invoice": invoice,
                "partner": partner.legal_name,
                "scheme": scheme,
            }
        elif mandate is None:
            problem = _("%(invoice)s: the customer %(partner)s has no active mandate.") % {
                "invoice": invoice,
                "partner": partner.legal_name,
            }
        elif mandate_expired(mandate, collection_date):
            problem = _(
                "%(invoice)s: the mandate %(mandate)s has not been used for %(months)s months "
                "and has expired: revoke it and register a new one."
            ) % {"invoice": invoice, "mandate": mandate.reference, "months": MANDATE_EXPIRY_MONTHS}
        result.append(
            Candidate(
                invoice=invoice,
                amount=invoice.open_amount,
                currency=invoice.currency,
                name=partner.legal_name[:NAME_MAX],
                iban=mandate.iban if mandate else "",
                bic=mandate.bic if mandate else "",
                remittance=(invoice.number or _label(invoice))[:REMITTANCE_MAX],
                mandate=mandate,
                sequence_type=mandate.sequence_type if mandate else "",
                problem=problem,
            )
        )
    return result


# --- batch creation -------------------------------------------------------------------------


def _lock_invoices(ids: Iterable[int]) -> None:
    """Lock the invoices a batch is made of, in id order (two people making batches from the
    same bills queue here; the second then finds them in the first batch)."""
    list(
        Invoice.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _batch_store(
    *,
    company: Company,
    kind: str,
    account: BankAccount,
    date: dt.date,
    rows: list[Candidate],
    user: Any,
) -> PaymentBatch:
    batch = PaymentBatch.objects.create(
        company=company,
        kind=kind,
        bank_account=account,
        execution_date=date,
        currency=account.currency,
        total=sum(row.amount for row in rows),
        line_count=len(rows),
        created_by=_user(user),
    )
    prefix = "TRF" if kind == PaymentBatch.Kind.TRANSFER else "DD"
    PaymentBatchLine.objects.bulk_create(
        PaymentBatchLine(
            company=company,
            batch=batch,
            invoice=row.invoice,
            partner=row.invoice.partner,
            amount=row.amount,
            name=row.name,
            iban=row.iban,
            bic=row.bic,
            remittance=row.remittance,
            end_to_end_id=f"{prefix}{batch.pk}-{number}",
            mandate=row.mandate,
            sequence_type=row.sequence_type,
        )
        for number, row in enumerate(rows, start=1)
    )
    # The batch row is recorded by the audit trail; its lines (inserted in bulk) here.
    audit_log(
        action=AuditAction.OTHER,
        company=company,
        user=_user(user),
        obj=batch,
        extra={
            "event": "lines",
            "lines": [
                {"invoice": row.invoice.pk, "amount": row.amount, "iban": row.iban} for row in rows
            ],
            "total": batch.total,
            "currency": batch.currency,
        },
    )
    return batch


def _batch_create(
    *,
    kind: str,
    company: Company,
    bank_account: Any,
    date: Any,
    date_field: str,
    invoices: Iterable[Any] | None,
    due_until: Any,
    scheme: str | None,
    user: Any,
) -> PaymentBatch:
    errors: dict[str, list[str]] = {}
    account = _bank_account(company, bank_account, kind, errors)
    day = _date(date, date_field, errors)
    if day is not None and day < timezone.localdate():
        errors[date_field] = [_("The date cannot be in the past.")]
    cutoff = _date(due_until, "due_until", errors, required=False) or day
    if scheme not in (None, "", *Mandate.Scheme.values):
        errors["scheme"] = [_("Choose CORE or B2B.")]
    direction = Direction.PURCHASE if kind == PaymentBatch.Kind.TRANSFER else Direction.SALE
    ids: list[int] | None = None
    if invoices is not None and account is not None:
        ids = _chosen(company, direction, account.currency, invoices, errors)
    _raise(errors)
    assert account is not None and day is not None and cutoff is not None  # noqa: S101
    with transaction.atomic():
        if ids is not None:
            _lock_invoices(ids)
        else:
            _lock_invoices(
                _select(company, direction, account.currency, cutoff, None).values_list(
                    "pk", flat=True
                )
            )
        if kind == PaymentBatch.Kind.TRANSFER:
            rows = transfer_candidates(
                company=company, bank_account=account, due_until=cutoff, invoice_ids=ids
            )
        else:
            rows = debit_candidates(
                company=company,
                bank_account=account,
                collection_date=day,
                due_until=cutoff,
                invoice_ids=ids,
                scheme=scheme or None,
            )
        problems = [row.problem for row in rows if row.problem]
        if problems:
            raise ValidationError({"invoices": problems})
        if ids is not None:  # chosen ones taken into a batch meanwhile (checked under lock)
            taken = (
                PaymentBatchLine.objects.filter(invoice_id__in=ids)
                .exclude(batch__state=PaymentBatch.State.CANCELLED)
                .select_related("invoice")
            )
            if taken:
                raise ValidationError(
                    {
                        "invoices": [
                            _("%(invoice)s is already in a payment batch.")
                            % {"invoice": line.invoice}
                            for line in taken
                        ]
                    }
                )
        if not rows:
            message = (
                _("No supplier bill is due on or before %(date)s.")
                if kind == PaymentBatch.Kind.TRANSFER
                else _(
                    "No invoice of a customer with an active mandate is due on or before %(date)s."
                )
            )
            raise ValidationError({"invoices": [message % {"date": cutoff}]})
        schemes = {row.mandate.scheme for row in rows if row.mandate is not None}
        if len(schemes) > 1:
            raise ValidationError(
                {
                    "scheme": [
                        _(
                            "CORE and B2B collections go in separate files: choose the scheme "
                            "of this batch."
                        )
                    ]
                }
            )
        return _batch_store(
            company=company, kind=kind, account=account, date=day, rows=rows, user=user
        )


def transfer_batch_create(
    *,
    company: Company,
    bank_account: BankAccount | int | str,
    execution_date: dt.date | str,
    invoices: Iterable[Invoice | int] | None = None,
    due_until: dt.date | str | None = None,
    user: Any = None,
) -> PaymentBatch:
    """A draft credit transfer batch paying supplier bills: the ``invoices`` chosen, or every
    bill due on or before ``due_until`` (default: the execution date) not yet in a batch. One
    line per bill for what is open of it, to the supplier's default bank account; a bill whose
    supplier has none is refused, named."""
    return _batch_create(
        kind=PaymentBatch.Kind.TRANSFER,
        company=company,
        bank_account=bank_account,
        date=execution_date,
        date_field="execution_date",
        invoices=invoices,
        due_until=due_until,
        scheme=None,
        user=user,
    )


def debit_batch_create(
    *,
    company: Company,
    bank_account: BankAccount | int | str,
    collection_date: dt.date | str,
    invoices: Iterable[Invoice | int] | None = None,
    due_until: dt.date | str | None = None,
    scheme: str | None = None,
    user: Any = None,
) -> PaymentBatch:
    """A draft direct debit batch collecting sales invoices: the ``invoices`` chosen, or every
    invoice due on or before ``due_until`` (default: the collection date) of a customer with
    an active mandate (of ``scheme``: CORE and B2B never share a file). The bank account needs
    its creditor identifier. The collection date is stored as the batch's execution date."""
    return _batch_create(
        kind=PaymentBatch.Kind.DEBIT,
        company=company,
        bank_account=bank_account,
        date=collection_date,
        date_field="collection_date",
        invoices=invoices,
        due_until=due_until,
        scheme=scheme,
        user=user,
    )


# --- workflow -------------------------------------------------------------------------------


def _locked(batch: PaymentBatch | int) -> PaymentBatch:
    pk = batch.pk if isinstance(batch, PaymentBatch) else int(batch)
    return (
        PaymentBatch.objects.select_for_update()
        .select_related("bank_account", "company")
        .get(pk=pk)
    )


def _lines(batch: PaymentBatch) -> list[PaymentBatchLine]:
    return list(
        PaymentBatchLine.objects.filter(batch=batch)
        .select_related("invoice", "mandate")
        .order_by("id")
    )


def _stale(lines: Sequence[PaymentBatchLine]) -> dict[str, list[str]]:
    """Lines whose invoice is no longer open for the line's amount (paid some other way
    since): paying them would pay twice."""
    errors: dict[str, list[str]] = {}
    for number, line in enumerate(lines, start=1):
        invoice = line.invoice
        if invoice.state != Invoice.State.ISSUED or invoice.open_amount < line.amount:
            errors[f"lines[{number}].amount"] = [
                _(
                    "%(invoice)s is no longer open for %(amount)s (open now: %(open)s): cancel "
                    "the batch and make a new one."
                )
                % {
                    "invoice": invoice,
                    "amount": _money(line.amount, invoice.currency),
                    "open": _money(max(invoice.open_amount, 0), invoice.currency),
                }
            ]
    return errors


def batch_scheme(batch: PaymentBatch) -> str:
    """CORE or B2B for a direct debit batch (its mandates'), "" for transfers."""
    if batch.kind != PaymentBatch.Kind.DEBIT:
        return ""
    scheme = (
        PaymentBatchLine.objects.filter(batch=batch, mandate__isnull=False)
        .values_list("mandate__scheme", flat=True)
        .first()
    )
    return scheme or ""


def batch_approve(*, batch: PaymentBatch | int, user: Any) -> PaymentBatch:
    """Approve a draft batch. Callers check the permission ``banking.approve_paymentbatch``;
    the service refuses whoever created the batch (a second person approves)."""
    with transaction.atomic():
        found = _locked(batch)
        errors: dict[str, list[str]] = {}
        approver = _user(user)
        if found.state != PaymentBatch.State.DRAFT:
            errors["state"] = [
                _("Only a draft batch can be approved; this one is %(state)s.")
                % {"state": found.get_state_display()}
            ]
        elif approver is None:
            errors["approved_by"] = [_("A signed-in person approves a batch.")]
        elif found.created_by_id is not None and found.created_by_id == approver.pk:
            errors["approved_by"] = [_("The person who created the batch cannot approve it.")]
        else:
            errors.update(_stale(_lines(found)))
        _raise(errors)
        found.state = PaymentBatch.State.APPROVED
        found.approved_by = approver
        found.approved_at = timezone.now()
        found.save(update_fields=["state", "approved_by", "approved_at"])
    return found


def _line_checks(batch: PaymentBatch, lines: Sequence[PaymentBatchLine]) -> dict[str, list[str]]:
    """IBAN and BIC of every line checked with their check digits (the schema only checks
    their shape), mandates still usable."""
    errors: dict[str, list[str]] = {}
    for number, line in enumerate(lines, start=1):
        where = _("Line %(number)s (%(name)s, %(invoice)s)") % {
            "number": number,
            "name": line.name,
            "invoice": line.invoice,
        }
        try:
            iban_normalise(line.iban)
        except ValidationError as exc:
            errors[f"lines[{number}].iban"] = [f"{where}: {m}" for m in exc.messages]
        try:
            bic_normalise(line.bic)
        except ValidationError as exc:
            errors[f"lines[{number}].bic"] = [f"{where}: {m}" for m in exc.messages]
        if batch.kind == PaymentBatch.Kind.DEBIT:
            mandate = line.mandate
            if mandate is None or mandate.state != Mandate.State.ACTIVE:
                errors[f"lines[{number}].mandate"] = [
                    _("%(where)s: the mandate %(mandate)s is not active.")
                    % {"where": where, "mandate": mandate or "—"}
                ]
            elif mandate_expired(mandate, batch.execution_date):
                errors[f"lines[{number}].mandate"] = [
                    _("%(where)s: the mandate %(mandate)s has expired.")
                    % {"where": where, "mandate": mandate}
                ]
    return errors


def _build_transfer(batch: PaymentBatch, lines: Sequence[PaymentBatchLine]) -> tuple[bytes, str]:
    from sepaxml import SepaTransfer

    account = batch.bank_account
    config: dict[str, Any] = {
        "name": batch.company.legal_name,
        "IBAN": account.iban,
        "batch": True,
        "currency": batch.currency,
    }
    if account.bic:
        config["BIC"] = account.bic
    sepa = SepaTransfer(config, schema=SCHEMA_TRANSFER, clean=True)
    for line in lines:
        payment: dict[str, Any] = {
            "name": line.name,
            "IBAN": line.iban,
            "amount": int(line.amount),
            "execution_date": batch.execution_date,
            "description": line.remittance,
            "endtoend_id": line.end_to_end_id,
        }
        if line.bic:
            payment["BIC"] = line.bic
        sepa.add_payment(payment)
    return sepa.export(validate=False), str(sepa.msg_id)


def _build_debit(
    batch: PaymentBatch, lines: Sequence[PaymentBatchLine], scheme: str
) -> tuple[bytes, str]:
    from sepaxml import SepaDD

    account = batch.bank_account
    config: dict[str, Any] = {
        "name": batch.company.legal_name,
        "IBAN": account.iban,
        "BIC": account.bic,
        "batch": True,
        "creditor_id": account.creditor_id,
        "currency": batch.currency,
        "instrument": scheme,
    }
    sepa = SepaDD(config, schema=SCHEMA_DEBIT, clean=True)
    for line in lines:
        mandate = line.mandate
        assert mandate is not None  # noqa: S101  (checked by _line_checks)
        payment: dict[str, Any] = {
            "name": line.name,
            "IBAN": line.iban,
            "amount": int(line.amount),
            "type": line.sequence_type,
            "collection_date": batch.execution_date,
            "mandate_id": mandate.reference,
            "mandate_date": mandate.signed_on,
            "description": line.remittance,
            "endtoend_id": line.end_to_end_id,
        }
        if line.bic:
            payment["BIC"] = line.bic
        sepa.add_payment(payment)
    return sepa.export(validate=False), str(sepa.msg_id)


def _file_audit(batch: PaymentBatch, user: Any, content: bytes, first: bool) -> None:
    audit_log(
        action=AuditAction.EXPORT,
        company=batch.company,
        user=_user(user),
        obj=batch,
        extra={
            "file": batch_filename(batch),
            "message_id": batch.message_id,
            "sha256": hashlib.sha256(content).hexdigest(),
            "generated": first,
        },
    )


def batch_filename(batch: PaymentBatch) -> str:
    schema = SCHEMA_TRANSFER if batch.kind == PaymentBatch.Kind.TRANSFER else SCHEMA_DEBIT
    return f"{schema}-{batch.company.code}-{batch.pk}-{batch.execution_date:%Y%m%d}.xml"


def batch_export(*, batch: PaymentBatch | int, user: Any = None) -> bytes:
    """The SEPA file of an approved batch: built with ``sepaxml``, validated against the
    official schema (an invalid file is refused, naming the element and the line), stored with
    its message id; the batch becomes "file generated" and its mandates are marked collected.
    A batch whose file was generated returns the same file again. Every call is audited."""
    with transaction.atomic():
        found = _locked(batch)
        if found.xml and found.state in (PaymentBatch.State.EXPORTED, PaymentBatch.State.PAID):
            content = found.xml.encode("utf-8")
            _file_audit(found, user, content, first=False)
            return content
        if found.state != PaymentBatch.State.APPROVED:
            raise ValidationError(
                {
                    "state": [
                        _("Approve the batch before generating its file; it is %(state)s.")
                        % {"state": found.get_state_display()}
                    ]
                }
            )
        lines = _lines(found)
        scheme = ""
        if found.kind == PaymentBatch.Kind.DEBIT:
            mandate_ids = sorted({line.mandate_id for line in lines if line.mandate_id})
            mandates = {
                m.pk: m
                for m in Mandate.objects.select_for_update()
                .filter(pk__in=mandate_ids)
                .order_by("pk")
            }
            for line in lines:
                if line.mandate_id in mandates:
                    line.mandate = mandates[line.mandate_id]
                    # Another file may have collected under the mandate since the batch was
                    # made: the first collection is the one generated first.
                    line.sequence_type = line.mandate.sequence_type
            schemes = {m.scheme for m in mandates.values()}
            scheme = schemes.pop() if len(schemes) == 1 else ""
            if not scheme:
                raise ValidationError(
                    {"scheme": [_("CORE and B2B collections go in separate files.")]}
                )
        errors = _stale(lines)
        errors.update(_line_checks(found, lines))
        if not found.bank_account.active or found.bank_account.currency != found.currency:
            errors["bank_account"] = [_("The batch's bank account is inactive or changed.")]
        _raise(errors)
        schema = SCHEMA_TRANSFER if found.kind == PaymentBatch.Kind.TRANSFER else SCHEMA_DEBIT
        try:
            if found.kind == PaymentBatch.Kind.TRANSFER:
                content, message_id = _build_transfer(found, lines)
            else:
                content, message_id = _build_debit(found, lines, scheme)
        except Exception as exc:  # sepaxml raises a bare Exception for incomplete data
            raise ValidationError(
                {"xml": [_("The file cannot be built: %(why)s") % {"why": exc}]}
            ) from exc
        sepa_validate(content, schema, lines)
        if found.kind == PaymentBatch.Kind.DEBIT:
            PaymentBatchLine.objects.bulk_update(lines, ["sequence_type"])
            for mandate in {line.mandate for line in lines if line.mandate is not None}:
                if (
                    mandate.last_collected_on is None
                    or mandate.last_collected_on < found.execution_date
                ):
                    mandate.last_collected_on = found.execution_date
                    mandate.save(update_fields=["last_collected_on"])
        found.state = PaymentBatch.State.EXPORTED
        found.message_id = message_id[:35]
        found.save(update_fields=["state", "message_id"])
        text = content.decode("utf-8")
        # The file itself is stored without a field-by-field audit diff (it can be large);
        # the audit entry below records its fingerprint.
        PaymentBatch.objects.filter(pk=found.pk).update(xml=text)
        found.xml = text
        _file_audit(found, user, content, first=True)
    return content


def _recompute_collected(mandate_ids: Iterable[int]) -> None:
    """A mandate's last collection: the latest date of a generated (or paid) file with it."""
    for mandate in Mandate.objects.select_for_update().filter(pk__in=sorted(set(mandate_ids))):
        latest = PaymentBatchLine.objects.filter(
            mandate=mandate,
            batch__state__in=[PaymentBatch.State.EXPORTED, PaymentBatch.State.PAID],
        ).aggregate(latest=Max("batch__execution_date"))["latest"]
        if latest != mandate.last_collected_on:
            mandate.last_collected_on = latest
            mandate.save(update_fields=["last_collected_on"])


def batch_cancel(*, batch: PaymentBatch | int, user: Any = None) -> PaymentBatch:
    """Cancel a batch that is not paid: its invoices can go in another batch. Cancelling a
    generated direct debit file puts its mandates back as they were (a first collection not
    made is FRST again)."""
    with transaction.atomic():
        found = _locked(batch)
        if found.state not in CANCELLABLE:
            raise ValidationError(
                {
                    "state": [
                        _("A %(state)s batch cannot be cancelled.")
                        % {"state": found.get_state_display().lower()}
                    ]
                }
            )
        was_exported = found.state == PaymentBatch.State.EXPORTED
        found.state = PaymentBatch.State.CANCELLED
        found.save(update_fields=["state"])
        if was_exported and found.kind == PaymentBatch.Kind.DEBIT:
            _recompute_collected(
                PaymentBatchLine.objects.filter(batch=found, mandate__isnull=False).values_list(
                    "mandate_id", flat=True
                )
            )
    return found


# --- mandates -------------------------------------------------------------------------------


def _partner(company: Company, value: Any) -> Partner | None:
    if isinstance(value, Partner):
        return value if value.company_id == company.pk else None
    if value in (None, ""):
        return None
    queryset = Partner.objects.for_company(company)
    if isinstance(value, int) and not isinstance(value, bool):
        return queryset.filter(pk=value).first()
    text = str(value).strip()
    return queryset.filter(code=text).first() or (
        queryset.filter(pk=int(text)).first() if text.isdigit() else None
    )


def mandate_used(mandate: Mandate) -> bool:
    """Whether a collection was generated, or is being prepared, under the mandate."""
    if mandate.pk is None:
        return False
    return (
        mandate.last_collected_on is not None
        or PaymentBatchLine.objects.filter(mandate=mandate)
        .exclude(batch__state=PaymentBatch.State.CANCELLED)
        .exists()
    )


def _mandate_errors(
    company: Company, data: dict[str, Any], instance: Mandate | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    partner = _partner(company, data.get("partner"))
    if partner is None:
        errors["partner"] = [_("Choose a customer of this company.")]
    elif not partner.is_customer:
        errors["partner"] = [_("%(partner)s is not a customer.") % {"partner": partner.legal_name}]
    else:
        data["partner"] = partner
    reference = str(data.get("reference") or "").strip()
    data["reference"] = reference
    if not reference:
        errors["reference"] = [_("Enter the mandate id.")]
    elif not MANDATE_REFERENCE.fullmatch(reference):
        errors["reference"] = [
            _(
                "A mandate id has at most 35 characters: letters without accents, digits, "
                "spaces and / - ? : ( ) . , ' +"
            )
        ]
    else:
        clash = Mandate.objects.for_company(company).filter(reference=reference)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["reference"] = [_("The company already has a mandate with this id.")]
    scheme = str(data.get("scheme") or Mandate.Scheme.CORE)
    if scheme not in Mandate.Scheme.values:
        errors["scheme"] = [_("Choose CORE or B2B.")]
    data["scheme"] = scheme
    try:
        iban, found_bic = iban_normalise(data.get("iban"))
        data["iban"] = iban
        if not data.get("bic") and found_bic:
            data["bic"] = found_bic
    except ValidationError as exc:
        errors["iban"] = exc.messages
    try:
        data["bic"] = bic_normalise(data.get("bic"))
    except ValidationError as exc:
        errors["bic"] = exc.messages
    signed = _date(data.get("signed_on"), "signed_on", errors)
    if signed is not None:
        if signed > timezone.localdate():
            errors["signed_on"] = [_("The signature date cannot be in the future.")]
        data["signed_on"] = signed
    return errors


def _unknown(data: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})


def mandate_create(*, company: Company, **data: Any) -> Mandate:
    """Register a mandate a customer signed: ``partner`` (instance, id or code), ``reference``
    (the mandate id, unique in the company), ``scheme`` (CORE or B2B), the debtor's ``iban``
    and ``bic`` (taken from the IBAN when empty), ``signed_on`` (not in the future)."""
    _unknown(data, MANDATE_FIELDS)
    values = dict(data)
    _raise(_mandate_errors(company, values, None))
    with transaction.atomic():
        mandate = Mandate(company=company, **values)
        mandate.save()
    return mandate


def mandate_update(*, instance: Mandate, **data: Any) -> Mandate:
    """Change a mandate. Once used, what identifies it to the debtor's bank (customer, id,
    scheme, IBAN, signature date) is fixed: a change of those is a new mandate. A revoked
    mandate does not change."""
    _unknown(data, (*MANDATE_FIELDS, "state"))
    with transaction.atomic():
        current = Mandate.objects.select_for_update().get(pk=instance.pk)
        merged: dict[str, Any] = {name: getattr(current, name) for name in MANDATE_FIELDS}
        state = data.pop("state", current.state)
        merged.update(data)
        errors = _mandate_errors(current.company, merged, current)
        if state not in Mandate.State.values:
            errors["state"] = [_("Choose active or revoked.")]
        elif current.state == Mandate.State.REVOKED and (
            state != Mandate.State.REVOKED
            or any(
                merged.get(name) != getattr(current, name)
                for name in MANDATE_FIELDS
                if name not in errors
            )
        ):
            errors.setdefault("state", []).append(
                _("A revoked mandate does not change: register a new mandate.")
            )
        if mandate_used(current):
            for name in MANDATE_FIXED_FIELDS:
                if name not in errors and merged.get(name) != getattr(current, name):
                    errors[name] = [
                        _(
                            "Collections were made under this mandate: this cannot change. "
                            "Revoke it and register the new mandate."
                        )
                    ]
        _raise(errors)
        for name in MANDATE_FIELDS:
            setattr(current, name, merged[name])
        current.state = state
        current.save()
    instance.refresh_from_db()
    return current


def mandate_revoke(*, instance: Mandate) -> Mandate:
    """Revoke a mandate (the customer withdrew it): no new collection under it. Batches not
    yet generated that use it are refused when their file is generated."""
    with transaction.atomic():
        current = Mandate.objects.select_for_update().get(pk=instance.pk)
        if current.state == Mandate.State.REVOKED:
            raise ValidationError({"state": [_("The mandate is already revoked.")]})
        current.state = Mandate.State.REVOKED
        current.save(update_fields=["state"])
    instance.refresh_from_db()
    return current


def mandate_delete(*, instance: Mandate) -> None:
    """Delete a mandate entered by mistake; one used in a batch is revoked instead."""
    with transaction.atomic():
        current = Mandate.objects.select_for_update().get(pk=instance.pk)
        if (
            current.last_collected_on is not None
            or PaymentBatchLine.objects.filter(mandate=current).exists()
        ):
            raise ValidationError(
                _("This mandate has been used in a payment batch: revoke it instead.")
            )
        current.delete()


__all__ = [
    "SCHEMA_DEBIT",
    "SCHEMA_TRANSFER",
    "Candidate",
    "batch_approve",
    "batch_bank_account",
    "batch_cancel",
    "batch_export",
    "batch_filename",
    "batch_scheme",
    "debit_batch_create",
    "debit_candidates",
    "mandate_create",
    "mandate_delete",
    "mandate_expired",
    "mandate_revoke",
    "mandate_update",
    "mandate_used",
    "sepa_schema_errors",
    "sepa_validate",
    "transfer_batch_create",
    "transfer_candidates",
]

"""Bank reconciliation: statement lines against open invoices, payment batches and open
ledger items on the bank's account, with the generic matching engine
(:mod:`trastienda.matching.engine`) and the company's rules.

Sign convention everywhere here: money into the bank account is positive. A statement line of
+121.00 matches a sales invoice open for 121.00; a line of -500.00 a supplier bill open for
500.00 or a transfer batch of 500.00; an open ledger item is its debit - credit on the bank's
ledger account.

Reconciling posts through the owners of the records: ``billing.services.payment_create`` (the
invoices are marked paid), ``ledger.services.entry_create_posted`` (a new entry: fees,
interest...). A ledger line matched on the bank's account is never touched: a
``ReconciledItem`` records the match beside it. Undoing a reconciliation reverses what it
posted (posted records are immutable) and reopens the line.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from trastienda.banking.models import (
    BankAccount,
    PaymentBatch,
    PaymentBatchLine,
    ReconciledItem,
    Reconciliation,
    ReconciliationRule,
    StatementLine,
)
from trastienda.billing.models import Direction, Invoice, Partner, PartnerBankAccount
from trastienda.core.models import Company
from trastienda.core.money import Money
from trastienda.ledger.models import Account, JournalEntryLine
from trastienda.matching import engine
from trastienda.matching.queue import Unmatched, exceptions_open, exceptions_resolve

SOURCE = "banking.statementline"
AUTO_MIN_SCORE = 90  # automatic reconciliation applies proposals scoring at least this
LEDGER_LOOKBACK_DAYS = 366  # open ledger items older than the line by more are not offered


# --- what can be matched --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """The right-hand side of a match, as the screen and the services see it."""

    kind: str  # "invoice", "batch", "ledger"
    pk: int
    label: str
    amount: int  # signed, money into the bank positive
    date: dt.date
    partner_id: int | None = None
    detail: str = ""

    @property
    def kind_label(self) -> str:
        if self.kind == "invoice":
            return _("Invoice") if self.amount >= 0 else _("Bill")
        return {"batch": _("Payment batch"), "ledger": _("Ledger")}.get(self.kind, self.kind)


def _key(kind: str, pk: int) -> str:
    return f"{kind}:{pk}"


def _iban_partners(company: Company) -> dict[str, int]:
    partners = dict(
        PartnerBankAccount.objects.for_company(company).values_list("iban", "partner_id")
    )
    from trastienda.banking.models import Mandate

    for iban, partner_id in Mandate.objects.for_company(company).values_list("iban", "partner_id"):
        partners.setdefault(iban, partner_id)
    return partners


def line_item(line: StatementLine, partners: Mapping[str, int]) -> engine.Item:
    partner_id = partners.get(line.counterparty_iban)
    references = frozenset(
        ref for ref in (engine.normalise_reference(line.reference),) if len(ref) >= 4
    )
    return engine.Item(
        key=line.pk,
        side="left",
        amount=line.open_amount,
        date=line.booking_date,
        currency=line.currency,
        references=references,
        text=" ".join(
            part for part in (line.description, line.reference, line.counterparty_name) if part
        ),
        party=f"P{partner_id}" if partner_id else "",
        data=line,
    )


def open_targets(
    account: BankAccount, *, since: dt.date | None = None
) -> tuple[list[engine.Item], dict[str, Target]]:
    """Everything a line of ``account`` may be matched with: issued invoices still open in the
    account's currency, exported payment batches not yet paid, and ledger lines on the bank's
    account not reconciled yet (from ``since`` on)."""
    company = account.company
    items: list[engine.Item] = []
    targets: dict[str, Target] = {}
    invoices = (
        Invoice.objects.for_company(company)
        .filter(state=Invoice.State.ISSUED, currency=account.currency)
        .exclude(open_amount=0)
        .exclude(kind=Invoice.Kind.CREDIT_NOTE)
        .values_list(
            "pk",
            "direction",
            "number",
            "supplier_reference",
            "date",
            "due_date",
            "open_amount",
            "partner_id",
            "partner__legal_name",
        )
    )
    for pk, direction, number, supplier_ref, date, due, open_amount, partner_id, name in invoices:
        amount = open_amount if direction == Direction.SALE else -open_amount
        refs = {engine.normalise_reference(number or "")}
        if supplier_ref:
            refs.add(engine.normalise_reference(supplier_ref))
        key = _key("invoice", pk)
        items.append(
            engine.Item(
                key=key,
                side="right",
                amount=amount,
                date=due or date,
                currency=account.currency,
                references=frozenset(ref for ref in refs if len(ref) >= 4),
                text=name,
                party=f"P{partner_id}",
            )
        )
        targets[key] = Target(
            "invoice",
            pk,
            number or supplier_ref or str(pk),
            amount,
            due or date,
            partner_id,
            f"{name} · {supplier_ref}" if supplier_ref else name,
        )
    batches = PaymentBatch.objects.for_company(company).filter(
        bank_account=account, state=PaymentBatch.State.EXPORTED
    )
    for batch in batches:
        amount = -batch.total if batch.kind == PaymentBatch.Kind.TRANSFER else batch.total
        key = _key("batch", batch.pk)
        items.append(
            engine.Item(
                key=key,
                side="right",
                amount=amount,
                date=batch.execution_date,
                currency=batch.currency,
                references=frozenset({engine.normalise_reference(batch.message_id)}),
                text=str(batch),
            )
        )
        targets[key] = Target(
            "batch", batch.pk, batch.message_id, amount, batch.execution_date, None, str(batch)
        )
    reconciled = ReconciledItem.objects.filter(entry_line=OuterRef("pk"), active=True)
    ledger_lines = (
        JournalEntryLine.objects.filter(company=company, account_id=account.account_id)
        .filter(entry__state="posted")
        .annotate(done=Exists(reconciled))
        .filter(done=False)
    )
    if since is not None:
        ledger_lines = ledger_lines.filter(entry__date__gte=since)
    for (
        pk,
        debit,
        credit,
        date,
        reference,
        description,
        entry_desc,
        number,
    ) in ledger_lines.values_list(
        "pk",
        "debit",
        "credit",
        "entry__date",
        "entry__reference",
        "description",
        "entry__description",
        "entry__number",
    ):
        amount = debit - credit
        key = _key("ledger", pk)
        items.append(
            engine.Item(
                key=key,
                side="right",
                amount=amount,
                date=date,
                currency=account.currency,
                references=frozenset(
                    ref for ref in (engine.normalise_reference(reference or ""),) if len(ref) >= 4
                ),
                text=" ".join(p for p in (description, entry_desc) if p),
            )
        )
        targets[key] = Target(
            "ledger",
            pk,
            number or reference or str(pk),
            amount,
            date,
            None,
            description or entry_desc or reference or "",
        )
    return items, targets


def _rule_matches(rule: ReconciliationRule, line: StatementLine) -> bool:
    if rule.bank_account_id and rule.bank_account_id != line.bank_account_id:
        return False
    if rule.direction == ReconciliationRule.Direction.IN and line.open_amount < 0:
        return False
    if rule.direction == ReconciliationRule.Direction.OUT and line.open_amount > 0:
        return False
    text = " ".join((line.description, line.reference, line.counterparty_name)).casefold()
    return rule.text_contains.casefold() in text


def rules_for(company: Company) -> list[ReconciliationRule]:
    return list(
        ReconciliationRule.objects.for_company(company)
        .filter(active=True)
        .select_related("account")
        .order_by("priority", "name")
    )


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A proposal for one line, as the reconciliation screen shows it."""

    targets: tuple[Target, ...]
    score: int
    reasons: tuple[str, ...]
    difference: int  # line amount - targets' sum
    rule: ReconciliationRule | None = None


def suggestions(line: StatementLine, *, limit: int = 12) -> list[Suggestion]:
    """The scored proposals for one line, best first: the rules that apply, then what the
    engine finds among the open targets."""
    account = line.bank_account
    found: list[Suggestion] = []
    for rule in rules_for(line.company):
        if _rule_matches(rule, line):
            found.append(
                Suggestion(
                    (),
                    95,
                    (
                        _("Rule “%(rule)s”: the text contains “%(text)s”.")
                        % {"rule": rule.name, "text": rule.text_contains},
                    ),
                    0,
                    rule,
                )
            )
    since = line.booking_date - dt.timedelta(days=LEDGER_LOOKBACK_DAYS)
    items, targets = open_targets(account, since=since)
    left = line_item(line, _iban_partners(line.company))
    for proposal in engine.candidates(left, items, limit=limit):
        found.append(
            Suggestion(
                tuple(targets[str(item.key)] for item in proposal.right),
                proposal.score,
                proposal.reasons,
                proposal.difference,
            )
        )
    return found[:limit]


# --- reconciling ----------------------------------------------------------------------------


def _line_locked(line: StatementLine | int) -> StatementLine:
    pk = line.pk if isinstance(line, StatementLine) else int(line)
    found = (
        StatementLine.objects.select_for_update()
        .select_related("bank_account", "bank_account__account", "bank_account__journal", "company")
        .get(pk=pk)
    )
    return found


def _line_take(line: StatementLine, amount: int) -> None:
    """Reduce what is open of the line by ``amount`` (same sign as the line)."""
    if amount == 0:
        raise ValidationError({"amount": [_("Nothing to reconcile.")]})
    if (amount > 0) != (line.open_amount > 0) or abs(amount) > abs(line.open_amount):
        raise ValidationError(
            {
                "amount": [
                    _("Only %(open)s of this line is open.")
                    % {"open": Money(line.open_amount, line.currency)}
                ]
            }
        )
    line.open_amount -= amount
    line.state = (
        StatementLine.State.RECONCILED if line.open_amount == 0 else StatementLine.State.PARTIAL
    )
    line.save(update_fields=["open_amount", "state"])


def _mark_bank_lines(reconciliation: Reconciliation, entry_id: int, account_id: int) -> None:
    lines = JournalEntryLine.objects.filter(entry_id=entry_id, account_id=account_id)
    ReconciledItem.objects.bulk_create(
        [
            ReconciledItem(
                company_id=reconciliation.company_id,
                reconciliation=reconciliation,
                entry_line=line,
            )
            for line in lines
        ]
    )


def _after(line: StatementLine) -> None:
    if line.open_amount == 0:
        exceptions_resolve(company=line.company, source=SOURCE, object_ids=[line.pk])


def reconcile_invoices(
    *,
    line: StatementLine | int,
    allocations: Sequence[Mapping[str, Any]],
    write_off: bool = False,
    user: Any = None,
    score: int | None = None,
    reason: str = "",
    automatic: bool = False,
) -> list[Reconciliation]:
    """Settle invoices with (part of) a line: one ``billing`` payment per partner, dated on
    the line's booking date, on the bank's ledger account and journal.

    ``allocations``: ``[{"invoice": Invoice or pk, "amount": Decimal or None (all that is
    open)}]``. ``write_off``: the invoices are settled in full and the difference between
    them and the line (within the write-off limit) is booked off; otherwise what the
    invoices take is reconciled and the rest of the line stays open.
    """
    from trastienda.billing.services import payment_create

    with transaction.atomic():
        line = _line_locked(line)
        account = line.bank_account
        company = line.company
        if not allocations:
            raise ValidationError({"allocations": [_("Choose at least one invoice.")]})
        by_partner: dict[int, list[tuple[Invoice, int]]] = defaultdict(list)
        errors: dict[str, list[str]] = {}
        for index, raw in enumerate(allocations, start=1):
            value = raw.get("invoice")
            pk = value.pk if isinstance(value, Invoice) else value
            invoice = (
                Invoice.objects.for_company(company).filter(pk=pk).first()
                if str(pk or "").isdigit()
                else None
            )
            if invoice is None:
                errors[f"allocations[{index}].invoice"] = [_("Unknown invoice.")]
                continue
            wanted = raw.get("amount")
            if wanted in (None, ""):
                minor = invoice.open_amount
            else:
                try:
                    minor = Money.from_decimal(Decimal(str(wanted)), invoice.currency).minor
                except (ValueError, ArithmeticError):
                    errors[f"allocations[{index}].amount"] = [_("Enter an amount.")]
                    continue
            by_partner[invoice.partner_id].append((invoice, minor))
        if errors:
            raise ValidationError(errors)
        signed_total = 0
        for rows in by_partner.values():
            for invoice, minor in rows:
                signed_total += minor if invoice.direction == Direction.SALE else -minor
        if write_off and len(by_partner) != 1:
            raise ValidationError(
                {"write_off": [_("A difference is written off for one partner at a time.")]}
            )
        taken = line.open_amount if write_off else signed_total
        if not write_off and abs(signed_total) > abs(line.open_amount):
            raise ValidationError(
                {
                    "allocations": [
                        _("The invoices (%(total)s) exceed what is open of the line (%(open)s).")
                        % {
                            "total": Money(signed_total, line.currency),
                            "open": Money(line.open_amount, line.currency),
                        }
                    ]
                }
            )
        rate = _rate(company, account, line.booking_date)
        made = []
        for partner_id, rows in by_partner.items():
            direction = rows[0][0].direction
            cash = abs(taken) if write_off else sum(minor for _invoice, minor in rows)
            payment = payment_create(
                company=company,
                direction=direction,
                partner=Partner.objects.get(pk=partner_id),
                date=line.booking_date,
                amount=Money(cash, account.currency),
                bank_account=account.account,
                allocations=[
                    {"invoice": invoice, "amount": Money(minor, invoice.currency).to_decimal()}
                    for invoice, minor in rows
                ],
                currency=account.currency,
                rate=rate,
                journal=account.journal,
                reference=(line.reference or line.bank_reference or "")[:100],
                write_off=write_off,
                keep_credit=False,
            )
            portion = cash if direction == Direction.SALE else -cash
            reconciliation = Reconciliation.objects.create(
                company=company,
                line=line,
                kind=Reconciliation.Kind.INVOICES,
                amount=portion,
                payment=payment,
                entry_id=payment.entry_id,
                score=score,
                reason=reason[:300],
                automatic=automatic,
                created_by=_user(user),
            )
            _mark_bank_lines(reconciliation, int(payment.entry_id or 0), account.account_id)
            made.append(reconciliation)
        _line_take(line, sum(r.amount for r in made))
        _after(line)
    return made


def _rate(company: Company, account: BankAccount, date: dt.date) -> Decimal | None:
    """Units of the company currency per unit of the account's (None in the company's)."""
    if account.currency == company.base_currency:
        return None
    from trastienda.ledger import fx

    found = fx.rate_on(company=company, currency=account.currency, date=date)
    if found is None:
        raise ValidationError(
            {
                "rate": [
                    _("No exchange rate of %(code)s on %(date)s: record one first.")
                    % {"code": account.currency, "date": date.isoformat()}
                ]
            }
        )
    if found.from_currency == account.currency:
        return found.rate
    return Decimal(1) / found.rate


def _pk(key: Any) -> int:
    return int(str(key))


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def reconcile_ledger(
    *,
    line: StatementLine | int,
    entry_lines: Iterable[JournalEntryLine | int],
    user: Any = None,
    score: int | None = None,
    reason: str = "",
    automatic: bool = False,
) -> Reconciliation:
    """Match a line with ledger lines already posted on the bank's account (a payment
    entered by hand, a transfer): nothing is posted; their sum must equal the line's share."""
    with transaction.atomic():
        line = _line_locked(line)
        account = line.bank_account
        ids = [item.pk if isinstance(item, JournalEntryLine) else int(item) for item in entry_lines]
        if not ids:
            raise ValidationError({"entry_lines": [_("Choose at least one ledger line.")]})
        found = list(
            JournalEntryLine.objects.select_for_update().filter(
                pk__in=ids,
                company=line.company,
                account_id=account.account_id,
                entry__state="posted",
            )
        )
        if len(found) != len(set(ids)):
            raise ValidationError(
                {"entry_lines": [_("Choose posted lines of the bank's ledger account.")]}
            )
        if ReconciledItem.objects.filter(entry_line_id__in=ids, active=True).exists():
            raise ValidationError(
                {"entry_lines": [_("One of these ledger lines is already reconciled.")]}
            )
        total = sum(item.debit - item.credit for item in found)
        reconciliation = Reconciliation.objects.create(
            company=line.company,
            line=line,
            kind=Reconciliation.Kind.LEDGER,
            amount=total,
            score=score,
            reason=reason[:300],
            automatic=automatic,
            created_by=_user(user),
        )
        ReconciledItem.objects.bulk_create(
            [
                ReconciledItem(company=line.company, reconciliation=reconciliation, entry_line=item)
                for item in found
            ]
        )
        _line_take(line, total)
        _after(line)
    return reconciliation


def reconcile_entry(
    *,
    line: StatementLine | int,
    account: Account | int | str,
    amount: Any = None,
    description: str = "",
    partner: str = "",
    user: Any = None,
    rule: ReconciliationRule | None = None,
    automatic: bool = False,
) -> Reconciliation:
    """Post a new entry for (part of) a line: the bank's account against ``account`` (bank
    fees, interest, a transfer between own accounts, a difference written off)."""
    from trastienda.ledger.services import entry_create_posted

    with transaction.atomic():
        line = _line_locked(line)
        bank = line.bank_account
        company = line.company
        if isinstance(account, Account):
            target = account if account.company_id == company.pk else None
        else:
            text = str(account).strip()
            queryset = Account.objects.for_company(company)
            target = queryset.filter(code=text).first() or (
                queryset.filter(pk=int(text)).first() if text.isdigit() else None
            )
        if target is None:
            raise ValidationError({"account": [_("Choose an account of this company.")]})
        if amount in (None, ""):
            minor = line.open_amount
        else:
            try:
                minor = Money.from_decimal(Decimal(str(amount)), bank.currency).minor
            except (ValueError, ArithmeticError) as exc:
                raise ValidationError({"amount": [_("Enter an amount.")]}) from exc
            if (minor > 0) != (line.open_amount > 0):
                minor = -minor  # the user typed the size; the line gives the direction
        text = (description or (rule.entry_description if rule else "") or line.description)[:300]
        value = Money(abs(minor), bank.currency).to_decimal()
        money_in = minor > 0
        bank_side = {"account": bank.account, "description": text}
        other_side = {"account": target, "description": text, "partner": partner}
        if money_in:
            lines = [{**bank_side, "debit": value}, {**other_side, "credit": value}]
        else:
            lines = [{**other_side, "debit": value}, {**bank_side, "credit": value}]
        if bank.currency != company.base_currency:
            rate = _rate(company, bank, line.booking_date) or Decimal(1)
            base_value = Money.from_decimal_rounded(value * rate, company.base_currency)
            for row in lines:
                side = "debit" if "debit" in row else "credit"
                row[side] = base_value.to_decimal()
                row["currency"] = bank.currency
                row["amount_currency"] = value if side == "debit" else -value
        entry = entry_create_posted(
            company=company,
            journal=bank.journal,
            date=line.booking_date,
            reference=(line.reference or line.bank_reference)[:100],
            description=text,
            lines=lines,
        )
        reconciliation = Reconciliation.objects.create(
            company=company,
            line=line,
            kind=Reconciliation.Kind.ENTRY,
            amount=minor,
            entry=entry,
            score=95 if rule else None,
            reason=(_("Rule “%(rule)s”") % {"rule": rule.name}) if rule else "",
            automatic=automatic,
            created_by=_user(user),
        )
        _mark_bank_lines(reconciliation, entry.pk, bank.account_id)
        _line_take(line, minor)
        _after(line)
    return reconciliation


def reconcile_batch(
    *,
    line: StatementLine | int,
    batch: PaymentBatch | int,
    user: Any = None,
    score: int | None = None,
    reason: str = "",
    automatic: bool = False,
) -> list[Reconciliation]:
    """The bank booked a whole SEPA batch as one movement: pay each of its invoices (one
    payment per partner) and mark the batch paid."""
    with transaction.atomic():
        locked = _line_locked(line)
        pk = batch.pk if isinstance(batch, PaymentBatch) else int(batch)
        found = (
            PaymentBatch.objects.select_for_update()
            .filter(pk=pk, company=locked.company, bank_account=locked.bank_account)
            .first()
        )
        if found is None or found.state != PaymentBatch.State.EXPORTED:
            raise ValidationError({"batch": [_("Choose a generated batch of this bank account.")]})
        signed = -found.total if found.kind == PaymentBatch.Kind.TRANSFER else found.total
        if signed != locked.open_amount:
            raise ValidationError(
                {
                    "batch": [
                        _("The batch (%(total)s) is not what is open of the line (%(open)s).")
                        % {
                            "total": Money(signed, found.currency),
                            "open": Money(locked.open_amount, locked.currency),
                        }
                    ]
                }
            )
        rows = list(PaymentBatchLine.objects.filter(batch=found).select_related("invoice"))
        made = reconcile_invoices(
            line=locked,
            allocations=[
                {"invoice": row.invoice, "amount": Money(row.amount, found.currency).to_decimal()}
                for row in rows
            ],
            user=user,
            score=score,
            reason=reason or str(found),
            automatic=automatic,
        )
        payments = {r.payment.partner_id: r.payment_id for r in made if r.payment is not None}
        for row in rows:
            row.payment_id = payments.get(row.partner_id)
        PaymentBatchLine.objects.bulk_update(rows, ["payment"])
        found.state = PaymentBatch.State.PAID
        found.save(update_fields=["state"])
    return made


def reconciliation_undo(*, instance: Reconciliation, user: Any = None) -> Reconciliation:
    """Undo a reconciliation: reverse its payment or entry (posted records stay; the reversal
    cancels them), release matched ledger lines, reopen the statement line."""
    from trastienda.billing.services import payment_reverse
    from trastienda.ledger.services import entry_reverse

    with transaction.atomic():
        found = Reconciliation.objects.select_for_update().get(pk=instance.pk)
        if found.state != Reconciliation.State.ACTIVE:
            raise ValidationError(_("This reconciliation is already undone."))
        line = _line_locked(found.line_id)
        bank_account_id = line.bank_account.account_id
        if found.kind == Reconciliation.Kind.LEDGER:
            found.items.update(active=False)
        elif found.kind == Reconciliation.Kind.INVOICES and found.payment is not None:
            payment = payment_reverse(instance=found.payment, date=timezone.localdate())
            if payment.reversal_entry_id:
                _mark_bank_lines(found, payment.reversal_entry_id, bank_account_id)
            PaymentBatchLine.objects.filter(payment=found.payment).update(payment=None)
            PaymentBatch.objects.filter(
                lines__payment__isnull=True, state=PaymentBatch.State.PAID
            ).filter(company=found.company).update(state=PaymentBatch.State.EXPORTED)
        elif found.entry is not None:
            reversal = entry_reverse(instance=found.entry, date=timezone.localdate())
            _mark_bank_lines(found, reversal.pk, bank_account_id)
        found.state = Reconciliation.State.UNDONE
        found.undone_by = _user(user)
        found.undone_at = timezone.now()
        found.save(update_fields=["state", "undone_by", "undone_at"])
        line.open_amount += found.amount
        line.state = (
            StatementLine.State.OPEN
            if line.open_amount == line.amount
            else StatementLine.State.PARTIAL
        )
        line.save(update_fields=["open_amount", "state"])
        exceptions_open(
            company=line.company,
            source=SOURCE,
            items=[_unmatched(line, _("A reconciliation was undone."))],
        )
    return found


def _unmatched(line: StatementLine, reason: str) -> Unmatched:
    summary = " · ".join(
        part
        for part in (line.bank_account.name, line.counterparty_name, line.description[:120])
        if part
    )
    return Unmatched(
        object_id=line.pk,
        summary=summary,
        amount=line.open_amount,
        currency=line.currency,
        date=line.booking_date,
        reason=reason,
    )


# --- automatic reconciliation ---------------------------------------------------------------


@dataclass
class AutoResult:
    lines: int = 0
    proposals: int = 0
    applied: int = 0
    by_rule: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    unmatched: int = 0
    seconds_matching: float = 0.0


@dataclass
class Plan:
    """What the engine and the rules propose for the open lines of one bank account."""

    account: BankAccount
    lines: list[StatementLine]
    ruled: dict[int, ReconciliationRule]
    matched: engine.MatchResult
    targets: dict[str, Target]


def reconcile_plan(
    account: BankAccount,
    *,
    partners: Mapping[str, int] | None = None,
    rules: Sequence[ReconciliationRule] | None = None,
) -> Plan:
    """Proposals for every open line of ``account`` (reads only): the first rule that applies
    to a line, else what the engine pairs it with."""
    company = account.company
    partners = _iban_partners(company) if partners is None else partners
    rules = rules_for(company) if rules is None else rules
    lines = list(
        StatementLine.objects.for_company(company)
        .filter(bank_account=account)
        .exclude(state=StatementLine.State.RECONCILED)
        .exclude(open_amount=0)
        .select_related("bank_account")
        .order_by("booking_date", "pk")
    )
    ruled: dict[int, ReconciliationRule] = {}
    for line in lines:
        for rule in rules:
            if _rule_matches(rule, line):
                ruled[line.pk] = rule
                break
    targets: dict[str, Target] = {}
    items: list[engine.Item] = []
    if lines:
        since = lines[0].booking_date - dt.timedelta(days=LEDGER_LOOKBACK_DAYS)
        items, targets = open_targets(account, since=since)
    left = [line_item(line, partners) for line in lines if line.pk not in ruled]
    matched = engine.match(left, items)
    return Plan(account, lines, ruled, matched, targets)


def auto_reconcile(
    *,
    company: Company,
    bank_account: BankAccount | None = None,
    apply: bool = True,
    min_score: int = AUTO_MIN_SCORE,
    user: Any = None,
    progress: Any = None,
) -> AutoResult:
    """Match every open line of the company's (or one) bank account and apply the proposals
    scoring at least ``min_score`` with no difference (and rules marked "post
    automatically"). Each applied proposal is its own transaction: one that fails (a closed
    period, a changed invoice) is reported and the others go on. What stays unmatched goes to
    the exception queue. ``progress(done, total, message)`` is told while applying."""
    import time

    result = AutoResult()
    accounts = (
        [bank_account]
        if bank_account is not None
        else list(BankAccount.objects.for_company(company).filter(active=True))
    )
    partners = _iban_partners(company)
    rules = rules_for(company)
    for account in accounts:
        started = time.monotonic()
        plan = reconcile_plan(account, partners=partners, rules=rules)
        result.seconds_matching += time.monotonic() - started
        if not plan.lines:
            continue
        result.lines += len(plan.lines)
        result.proposals += len(plan.matched.proposals) + len(plan.ruled)
        done: set[int] = set()
        if apply:
            done = _apply_plan(plan, min_score, user, result, progress)
        proposed = {_pk(item.key) for p in plan.matched.proposals for item in p.left}
        leftover = [
            _unmatched(
                line,
                _("A proposal waits for review.")
                if line.pk in proposed or line.pk in plan.ruled
                else _("No match found."),
            )
            for line in plan.lines
            if line.pk not in done
        ]
        result.unmatched += len(leftover)
        exceptions_open(company=company, source=SOURCE, items=leftover)
    return result


def _apply_plan(
    plan: Plan, min_score: int, user: Any, result: AutoResult, progress: Any = None
) -> set[int]:
    done: set[int] = set()
    chosen = [p for p in plan.matched.proposals if p.score >= min_score and p.difference == 0]
    automatic_rules = [(pk, rule) for pk, rule in plan.ruled.items() if rule.auto_post]
    total = len(chosen) + len(automatic_rules)
    for line_pk, rule in automatic_rules:
        try:
            reconcile_entry(
                line=line_pk, account=rule.account, rule=rule, user=user, automatic=True
            )
            result.by_rule += 1
            done.add(line_pk)
        except ValidationError as exc:
            result.failed.append((line_pk, "; ".join(exc.messages)))
    for index, proposal in enumerate(chosen, start=1):
        try:
            _apply(proposal, plan.targets, user)
            result.applied += 1
            done.update(_pk(item.key) for item in proposal.left)
        except ValidationError as exc:
            keys = ",".join(str(item.key) for item in proposal.left)
            result.failed.append((_pk(proposal.left[0].key), f"{keys}: {'; '.join(exc.messages)}"))
        if progress is not None:
            progress(len(automatic_rules) + index, total, _("Reconciling"))
    return done


def _apply(proposal: engine.Proposal, targets: Mapping[str, Target], user: Any) -> None:
    reason = "; ".join(proposal.reasons)
    chosen = [targets[str(item.key)] for item in proposal.right]
    kinds = {target.kind for target in chosen}
    with transaction.atomic():
        if len(proposal.left) == 1:
            line_pk = _pk(proposal.left[0].key)
            if kinds == {"invoice"}:
                reconcile_invoices(
                    line=line_pk,
                    allocations=[{"invoice": t.pk, "amount": None} for t in chosen],
                    user=user,
                    score=proposal.score,
                    reason=reason,
                    automatic=True,
                )
            elif kinds == {"ledger"}:
                reconcile_ledger(
                    line=line_pk,
                    entry_lines=[t.pk for t in chosen],
                    user=user,
                    score=proposal.score,
                    reason=reason,
                    automatic=True,
                )
            elif kinds == {"batch"} and len(chosen) == 1:
                reconcile_batch(
                    line=line_pk,
                    batch=chosen[0].pk,
                    user=user,
                    score=proposal.score,
                    reason=reason,
                    automatic=True,
                )
            else:
                raise ValidationError(_("Mixed proposals are reviewed by hand."))
            return
        # Several lines, one target (instalments paid separately).
        if len(chosen) != 1 or kinds != {"invoice"}:
            raise ValidationError(_("Mixed proposals are reviewed by hand."))
        target = chosen[0]
        for item in proposal.left:
            reconcile_invoices(
                line=_pk(item.key),
                allocations=[
                    {
                        "invoice": target.pk,
                        "amount": Money(abs(item.amount), item.currency).to_decimal(),
                    }
                ],
                user=user,
                score=proposal.score,
                reason=reason,
                automatic=True,
            )


def open_lines(company: Company, bank_account: BankAccount | None = None) -> Any:
    queryset = StatementLine.objects.for_company(company).filter(
        Q(state=StatementLine.State.OPEN) | Q(state=StatementLine.State.PARTIAL)
    )
    if bank_account is not None:
        queryset = queryset.filter(bank_account=bank_account)
    return queryset.select_related("bank_account").order_by("booking_date", "pk")


__all__ = [
    "AutoResult",
    "Suggestion",
    "Target",
    "auto_reconcile",
    "open_lines",
    "open_targets",
    "reconcile_batch",
    "reconcile_entry",
    "reconcile_invoices",
    "reconcile_ledger",
    "reconcile_plan",
    "reconciliation_undo",
    "suggestions",
]

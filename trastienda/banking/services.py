"""Banking services: bank accounts and statement import.

Every write goes through these functions (views, API, CLI and jobs alike). Each validates
everything first and writes in one transaction: a refused file leaves nothing behind.
Reconciliation lives in :mod:`trastienda.banking.reconciliation`, payment batches in
:mod:`trastienda.banking.sepa`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trastienda.audit.models import AuditAction
from trastienda.audit.services import audit_log
from trastienda.banking.formats import read_statement
from trastienda.banking.formats.base import ParsedLine, ParsedStatement, StatementFormatError
from trastienda.banking.formats.tabular import ColumnMapping
from trastienda.banking.models import BankAccount, Statement, StatementLine
from trastienda.billing.partners import bic_normalise, iban_normalise
from trastienda.core.db import rows_insert
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent
from trastienda.ledger.models import Account, AccountSubtype, AccountType, Journal

ProgressFn = Callable[[int, int, str], None]

BANK_ACCOUNT_FIELDS = (
    "name",
    "iban",
    "bic",
    "bank_name",
    "currency",
    "account",
    "journal",
    "creditor_id",
    "active",
)

INSERT_BATCH = 5000  # lines per progress step


def _raise(errors: Mapping[str, list[str]]) -> None:
    if errors:
        raise ValidationError(dict(errors))


def _company_object(model: Any, company: Company, value: Any) -> Any:
    """``value`` as a record of ``company`` (instance, pk or code) or None."""
    if value is None or value == "":
        return None
    if isinstance(value, model):
        return value if value.company_id == company.pk else None
    queryset = model.objects.for_company(company)
    if isinstance(value, int) and not isinstance(value, bool):
        return queryset.filter(pk=value).first()
    text = str(value).strip()
    if text.isdigit() and model is not Account:
        return queryset.filter(pk=int(text)).first()
    if hasattr(model, "code"):
        return queryset.filter(code=text).first()
    return None


# --- bank accounts --------------------------------------------------------------------------


def _creditor_id(value: str) -> str:
    """A SEPA creditor identifier, compact; checked with its ISO 7064 mod 97-10 digits."""
    text = re.sub(r"[\s-]", "", value or "").upper()
    if not text:
        return ""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{3}[A-Z0-9]{1,28}", text):
        raise ValidationError(_("A creditor identifier looks like ES12000B12345678."))
    national = text[7:] + text[:2] + "00"
    digits = "".join(str(int(char, 36)) for char in national)
    if 98 - int(digits) % 97 != int(text[2:4]):
        raise ValidationError(_("The check digits of the creditor identifier are wrong."))
    return text


def _next_bank_account(company: Company, currency: str) -> Account:
    """A ledger account for a new bank account: the chart's bank current account if no bank
    account uses it yet, else a new sibling numbered after it."""
    used = set(BankAccount.objects.for_company(company).values_list("account_id", flat=True))
    banks = list(
        Account.objects.for_company(company)
        .filter(subtype=AccountSubtype.BANK, postable=True, active=True)
        .order_by("code")
    )
    for candidate in banks:
        if candidate.pk not in used:
            return candidate
    if not banks:
        raise ValidationError(
            {"account": [_("The chart has no bank account to copy: choose a ledger account.")]}
        )
    model = banks[0]
    match = re.search(r"(\d+)$", model.code)
    if match is None:
        raise ValidationError({"account": [_("Choose a ledger account.")]})
    stem, number, width = model.code[: match.start()], int(match.group(1)), len(match.group(1))
    codes = set(Account.objects.for_company(company).values_list("code", flat=True))
    while True:
        number += 1
        code = f"{stem}{number:0{width}d}"
        if code not in codes:
            break
    from trastienda.ledger.services import account_create

    return account_create(
        company=company,
        code=code,
        parent=model.parent,
        name_es=model.name_es,
        name_it=model.name_it,
        name_en=model.name_en,
        type=AccountType.ASSET,
        subtype=AccountSubtype.BANK,
        postable=True,
        reconcilable=True,
    )


def _bank_account_errors(
    company: Company, data: dict[str, Any], instance: BankAccount | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not str(data.get("name") or "").strip():
        errors["name"] = [_("Enter a name.")]
    try:
        iban, found_bic = iban_normalise(data.get("iban"))
        data["iban"] = iban
        if not data.get("bic") and found_bic:
            data["bic"] = found_bic
        clash = BankAccount.objects.for_company(company).filter(iban=iban)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["iban"] = [_("The company already has a bank account with this IBAN.")]
    except ValidationError as exc:
        errors["iban"] = exc.messages
    try:
        data["bic"] = bic_normalise(data.get("bic"))
    except ValidationError as exc:
        errors["bic"] = exc.messages
    try:
        data["creditor_id"] = _creditor_id(str(data.get("creditor_id") or ""))
    except ValidationError as exc:
        errors["creditor_id"] = exc.messages
    currency = str(data.get("currency") or company.base_currency).upper()
    try:
        currency_exponent(currency)
        data["currency"] = currency
    except ValueError:
        errors["currency"] = [_("Unknown currency %(code)s.") % {"code": currency}]
    account = data.get("account")
    if account is not None:
        account = _company_object(Account, company, account)
        if account is None:
            errors["account"] = [_("Choose a ledger account of this company.")]
        elif not account.postable or not account.active or account.type != AccountType.ASSET:
            errors["account"] = [_("Choose an active, postable asset account.")]
        else:
            data["account"] = account
    journal = data.get("journal")
    if journal is not None:
        journal = _company_object(Journal, company, journal)
        if journal is None or journal.type not in (Journal.Type.BANK, Journal.Type.CASH):
            errors["journal"] = [_("Choose a bank journal of this company.")]
        else:
            data["journal"] = journal
    return errors


def bank_account_create(*, company: Company, **data: Any) -> BankAccount:
    """Add a bank account. Without ``account`` a ledger bank account is taken from the chart
    (or a sibling created); without ``journal`` the first bank journal."""
    unknown = set(data) - set(BANK_ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    data = dict(data)
    data.setdefault("currency", company.base_currency)
    _raise(_bank_account_errors(company, data, None))
    with transaction.atomic():
        if data.get("account") is None:
            data["account"] = _next_bank_account(company, data["currency"])
        if data.get("journal") is None:
            journal = (
                Journal.objects.for_company(company)
                .filter(type=Journal.Type.BANK, active=True)
                .order_by("code")
                .first()
            )
            if journal is None:
                raise ValidationError({"journal": [_("The company has no bank journal.")]})
            data["journal"] = journal
        account = BankAccount(company=company, **data)
        account.save()
    return account


def bank_account_update(*, instance: BankAccount, **data: Any) -> BankAccount:
    """Change a bank account. What is frozen once statements were imported (IBAN, currency,
    ledger account) is compared with the stored row, not with ``instance`` (a form may have
    set the new values on it already)."""
    unknown = set(data) - set(BANK_ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    with transaction.atomic():
        stored = BankAccount.objects.select_for_update().get(pk=instance.pk)
        merged = {name: getattr(instance, name) for name in BANK_ACCOUNT_FIELDS}
        merged.update(data)
        errors = _bank_account_errors(stored.company, merged, stored)
        for name in ("account", "journal"):
            if merged.get(name) is None and name not in errors:
                errors[name] = [_("This field is required.")]
        if StatementLine.objects.filter(bank_account=stored).exists():
            for name in ("iban", "currency", "account"):
                if _stored_value(merged[name]) != _stored_value(getattr(stored, name)):
                    errors.setdefault(name, []).append(
                        _("Statements were imported into this account: this cannot change.")
                    )
        _raise(errors)
        for name in BANK_ACCOUNT_FIELDS:
            setattr(instance, name, merged[name])
        instance.save()
    return instance


def _stored_value(value: Any) -> Any:
    return value.pk if hasattr(value, "pk") else value


def bank_account_delete(*, instance: BankAccount) -> None:
    if Statement.objects.filter(bank_account=instance).exists():
        raise ValidationError(
            _("Statements were imported into this account: deactivate it instead.")
        )
    with transaction.atomic():
        instance.delete()


def column_mapping_save(*, instance: BankAccount, mapping: Mapping[str, Any]) -> BankAccount:
    """Save how this bank's CSV/XLSX statements are read (validated first)."""
    try:
        parsed = ColumnMapping.from_dict(dict(mapping))
    except ValueError as exc:  # ColumnMappingError names the mapping's field
        raise ValidationError({getattr(exc, "field", "") or "column_mapping": [str(exc)]}) from exc
    with transaction.atomic():
        instance.column_mapping = parsed.to_dict()
        instance.save(update_fields=["column_mapping"])
    return instance


# --- statement import -----------------------------------------------------------------------


@dataclass
class ImportResult:
    statements: list[Statement] = field(default_factory=list)
    lines: int = 0

    @property
    def money_in(self) -> int:
        return sum(statement.credit_total for statement in self.statements)

    @property
    def money_out(self) -> int:
        return sum(statement.debit_total for statement in self.statements)


def _minor(value: Decimal, currency: str) -> int | None:
    try:
        return Money.from_decimal(value, currency).minor
    except (ValueError, ArithmeticError):
        return None


def _where(line: ParsedLine, index: int) -> str:
    return f"line {line.line}" if line.line else f"movement {index}"


def line_fingerprint(account_id: int, line: ParsedLine, minor: int, occurrence: int) -> str:
    """What makes a movement the same movement when a later file carries it again: the
    account, date, amount, the bank's reference when there is one (else the texts) and how
    many identical movements came before it in the same statement."""
    if line.bank_reference:
        parts = [line.bank_reference]
    else:
        parts = [line.reference, line.description, line.counterparty_iban, line.counterparty_name]
    key = "\x1f".join(
        [str(account_id), line.booking_date.isoformat(), str(minor), *parts, str(occurrence)]
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _account_for(
    company: Company,
    parsed: ParsedStatement,
    chosen: BankAccount | None,
    accounts: list[BankAccount],
) -> BankAccount | str:
    """The bank account a statement belongs to, or the reason it is refused."""
    named = parsed.account_iban or parsed.account_number
    if chosen is not None:
        if parsed.account_iban and parsed.account_iban != chosen.iban:
            return _("The file is of the account %(file)s, not of %(chosen)s.") % {
                "file": parsed.account_iban,
                "chosen": chosen.iban,
            }
        if (
            not parsed.account_iban
            and parsed.account_number
            and not _number_in_iban(parsed.account_number, chosen.iban)
        ):
            return _("The file is of the account %(file)s, not of %(chosen)s.") % {
                "file": parsed.account_number,
                "chosen": chosen.iban,
            }
        return chosen
    if not named:
        return _("The file does not say which account it is of: choose the bank account.")
    for account in accounts:
        if parsed.account_iban and account.iban == parsed.account_iban:
            return account
        if not parsed.account_iban and _number_in_iban(parsed.account_number, account.iban):
            return account
    return _("No bank account of this company has the IBAN or number %(account)s.") % {
        "account": named
    }


def _number_in_iban(number: str, iban: str) -> bool:
    """Whether a national account number (Norma 43's bank+branch+account, MT940's :25:) is
    the one inside the IBAN (Spanish IBANs carry two check digits between branch and
    account)."""
    digits = re.sub(r"[^0-9A-Z]", "", number.upper())
    if not digits:
        return False
    bban = iban[4:]
    if digits == bban or bban.endswith(digits):
        return True
    if iban.startswith("ES") and len(digits) == 18:
        return bban[:8] == digits[:8] and bban[10:] == digits[8:]
    return False


def _check_statement(
    parsed: ParsedStatement, account: BankAccount, where: str, errors: dict[str, list[str]]
) -> list[tuple[ParsedLine, int]]:
    """Amounts in minor units; the problems of the statement under ``where``."""
    problems: list[str] = []
    if parsed.currency and parsed.currency.upper() != account.currency:
        problems.append(
            _("The statement is in %(file)s, the account in %(account)s.")
            % {"file": parsed.currency, "account": account.currency}
        )
    currency = account.currency
    converted: list[tuple[ParsedLine, int]] = []
    for index, line in enumerate(parsed.lines, start=1):
        minor = _minor(line.amount, currency)
        if minor is None:
            errors.setdefault(_where(line, index), []).append(
                _("The amount %(amount)s has more decimals than %(currency)s allows.")
                % {"amount": line.amount, "currency": currency}
            )
            continue
        converted.append((line, minor))
    difference = parsed.balance_difference()
    if difference is not None and difference != 0:
        problems.append(
            _(
                "The statement does not add up: opening balance %(opening)s + movements "
                "%(movements)s = %(expected)s, but the closing balance is %(closing)s "
                "(a difference of %(difference)s)."
            )
            % {
                "difference": difference,
                "opening": parsed.opening_balance,
                "movements": parsed.movements_total(),
                "expected": (parsed.opening_balance or 0) + parsed.movements_total(),
                "closing": parsed.closing_balance,
            }
        )
    for balance in (parsed.opening_balance, parsed.closing_balance):
        if balance is not None and _minor(balance, currency) is None:
            problems.append(
                _("The balance %(amount)s has more decimals than %(currency)s allows.")
                % {"amount": balance, "currency": currency}
            )
    if problems:
        errors.setdefault(where, []).extend(problems)
    return converted


def statement_import(
    *,
    company: Company,
    content: bytes,
    filename: str = "",
    bank_account: BankAccount | int | str | None = None,
    user: Any = None,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Import a statement file, all or nothing.

    The format is read from the content (CAMT.052/053/054, OFX, Norma 43, MT940; CSV and XLSX
    with the bank account's column mapping). Every statement in the file must belong to one of
    the company's bank accounts (``bank_account`` when given), be in its currency, add up
    (opening + movements = closing), and hold no movement imported before; the same file is
    never imported twice. Errors are keyed ``file``, ``statement N`` or ``line N``.
    """
    chosen = None
    if bank_account is not None and bank_account != "":
        chosen = _company_object(BankAccount, company, bank_account)
        if chosen is None and isinstance(bank_account, str):
            chosen = (
                BankAccount.objects.for_company(company)
                .filter(iban=re.sub(r"\s", "", bank_account).upper())
                .first()
            )
        if chosen is None:
            raise ValidationError({"bank_account": [_("Choose a bank account of this company.")]})
    mapping = None
    if chosen is not None and chosen.column_mapping:
        mapping = ColumnMapping.from_dict(chosen.column_mapping)
    digest = hashlib.sha256(content).hexdigest()
    done = Statement.objects.for_company(company).filter(file_hash=digest).first()
    if done is not None:  # before reading it: a big file is refused at once
        raise ValidationError(
            {
                "file": [
                    _("This file was already imported on %(date)s (statement %(id)s).")
                    % {"date": done.created_at.date().isoformat(), "id": done.pk}
                ]
            }
        )
    if progress:
        progress(0, 0, _("Reading the file"))
    try:
        parsed_statements = read_statement(
            content,
            filename,
            mapping=mapping,
            currency=chosen.currency if chosen else company.base_currency,
        )
    except StatementFormatError as exc:
        key = f"line {exc.line}" if exc.line else "file"
        raise ValidationError({key: [exc.message]}) from exc
    if not parsed_statements:
        raise ValidationError({"file": [_("The file holds no statement.")]})
    accounts = list(BankAccount.objects.for_company(company).filter(active=True))
    errors: dict[str, list[str]] = {}
    plans: list[tuple[ParsedStatement, BankAccount, list[tuple[ParsedLine, int, str]]]] = []
    for number, parsed in enumerate(parsed_statements, start=1):
        where = "file" if len(parsed_statements) == 1 else f"statement {number}"
        account = _account_for(company, parsed, chosen, accounts)
        if isinstance(account, str):
            errors.setdefault(where, []).append(account)
            continue
        converted = _check_statement(parsed, account, where, errors)
        occurrences: Counter[tuple[Any, ...]] = Counter()
        keyed: list[tuple[ParsedLine, int, str]] = []
        for line, minor in converted:
            identity = (
                line.booking_date,
                minor,
                line.bank_reference,
                line.reference,
                line.description,
                line.counterparty_iban,
                line.counterparty_name,
            )
            occurrences[identity] += 1
            keyed.append(
                (line, minor, line_fingerprint(account.pk, line, minor, occurrences[identity]))
            )
        plans.append((parsed, account, keyed))
    _raise(errors)
    for number, (parsed, account, keyed) in enumerate(plans, start=1):
        where = "file" if len(plans) == 1 else f"statement {number}"
        done = Statement.objects.filter(
            bank_account=account, file_hash=digest, reference=parsed.statement_id[:140]
        ).first()
        if done is not None:
            errors.setdefault(where, []).append(
                _("This file was already imported on %(date)s (statement %(id)s).")
                % {"date": done.created_at.date().isoformat(), "id": done.pk}
            )
            continue
        seen = _fingerprints_seen(account, [fingerprint for _line, _minor, fingerprint in keyed])
        if seen:
            first = next(line for line, _minor, fingerprint in keyed if fingerprint in seen)
            errors.setdefault(where, []).append(
                ngettext(
                    "%(count)d movement was already imported (the first on %(date)s, "
                    "%(amount)s): the file overlaps a statement imported before.",
                    "%(count)d movements were already imported (the first on %(date)s, "
                    "%(amount)s): the file overlaps a statement imported before.",
                    len(seen),
                )
                % {
                    "count": len(seen),
                    "date": first.booking_date.isoformat(),
                    "amount": first.amount,
                }
            )
    _raise(errors)
    total = sum(len(keyed) for _parsed, _account, keyed in plans)
    result = ImportResult()
    try:
        with transaction.atomic():
            _store(company, plans, digest, filename, user, result, total, progress)
    except IntegrityError as exc:  # the same file or movements stored meanwhile by another import
        raise ValidationError(
            {"file": [_("This file, or some of its movements, was imported meanwhile.")]}
        ) from exc
    return result


def _store(
    company: Company,
    plans: list[tuple[ParsedStatement, BankAccount, list[tuple[ParsedLine, int, str]]]],
    digest: str,
    filename: str,
    user: Any,
    result: ImportResult,
    total: int,
    progress: ProgressFn | None,
) -> None:
    done_lines = 0
    for parsed, account, keyed in plans:
        statement = _statement_store(company, parsed, account, keyed, digest, filename, user)
        result.statements.append(statement)
        for start in range(0, len(keyed), INSERT_BATCH):
            chunk = keyed[start : start + INSERT_BATCH]
            _lines_insert(statement, chunk, start)
            done_lines += len(chunk)
            if progress:
                progress(done_lines, total, _("Storing the movements"))
        result.lines += len(keyed)
    audit_log(
        action=AuditAction.CREATE,
        company=company,
        user=user,
        object_type="banking.statementimport",
        object_repr=filename or digest[:12],
        extra={
            "file": filename,
            "sha256": digest,
            "statements": [statement.pk for statement in result.statements],
            "lines": result.lines,
        },
    )


def _fingerprints_seen(account: BankAccount, fingerprints: list[str]) -> set[str]:
    seen: set[str] = set()
    queryset = StatementLine.objects.filter(bank_account=account)
    for start in range(0, len(fingerprints), 900):  # SQLite's variable limit
        chunk = fingerprints[start : start + 900]
        seen.update(queryset.filter(fingerprint__in=chunk).values_list("fingerprint", flat=True))
    return seen


def _statement_store(
    company: Company,
    parsed: ParsedStatement,
    account: BankAccount,
    keyed: list[tuple[ParsedLine, int, str]],
    digest: str,
    filename: str,
    user: Any,
) -> Statement:
    dates = [line.booking_date for line, _minor, _fp in keyed]
    today = timezone.localdate()
    start = parsed.start_date or (min(dates) if dates else today)
    end = parsed.end_date or (max(dates) if dates else start)
    currency = account.currency
    statement = Statement(
        company=company,
        bank_account=account,
        format=_format_code(parsed.format),
        reference=parsed.statement_id[:140],
        filename=filename[:255],
        file_hash=digest,
        start_date=start,
        end_date=end,
        opening_balance=(
            None if parsed.opening_balance is None else _minor(parsed.opening_balance, currency)
        ),
        closing_balance=(
            None if parsed.closing_balance is None else _minor(parsed.closing_balance, currency)
        ),
        line_count=len(keyed),
        credit_total=sum(minor for _line, minor, _fp in keyed if minor > 0),
        debit_total=-sum(minor for _line, minor, _fp in keyed if minor < 0),
        imported_by=user if getattr(user, "is_authenticated", False) else None,
    )
    statement.save()
    return statement


def _format_code(name: str) -> str:
    name = name.lower()
    if name in Statement.Format.values:
        return name
    return {"camt": "camt.053", "norma 43": "norma43", "mt 940": "mt940"}.get(name, "csv")


LINE_COLUMNS = (
    "company_id",
    "statement_id",
    "bank_account_id",
    "sequence",
    "booking_date",
    "value_date",
    "amount",
    "open_amount",
    "currency",
    "description",
    "reference",
    "bank_reference",
    "counterparty_name",
    "counterparty_iban",
    "transaction_code",
    "fingerprint",
    "state",
)


def _lines_insert(
    statement: Statement,
    keyed: list[tuple[ParsedLine, int, str]],
    offset: int,
) -> None:
    """Insert statement lines with plain multi-row SQL (``COPY`` on PostgreSQL): the ORM's
    ``bulk_create`` spent most of an import building statements. Lines are not audited one
    by one: the import is (one event with the file's fingerprint)."""
    adapt = connection.ops.adapt_datefield_value
    open_state, done_state = StatementLine.State.OPEN.value, StatementLine.State.RECONCILED.value
    company_id, statement_id, account_id = (
        statement.company_id,
        statement.pk,
        statement.bank_account_id,
    )
    currency = statement.bank_account.currency
    rows = (
        (
            company_id,
            statement_id,
            account_id,
            position,
            adapt(line.booking_date),
            adapt(line.value_date) if line.value_date is not None else None,
            minor,
            minor,
            currency,
            line.description,
            line.reference[:140],
            line.bank_reference[:140],
            line.counterparty_name[:140],
            line.counterparty_iban[:34],
            line.transaction_code[:40],
            fingerprint,
            open_state if minor else done_state,
        )
        for position, (line, minor, fingerprint) in enumerate(keyed, start=offset + 1)
    )
    rows_insert(StatementLine._meta.db_table, LINE_COLUMNS, rows)


def statement_delete(*, instance: Statement) -> None:
    """Remove a statement imported by mistake, while none of its lines was ever reconciled;
    their exceptions in the queue are closed."""
    from trastienda.banking.reconciliation import SOURCE
    from trastienda.matching.queue import exceptions_resolve

    if instance.lines.exclude(state=StatementLine.State.OPEN).exclude(amount=0).exists():
        raise ValidationError(
            _("Some lines of this statement are reconciled: undo those reconciliations first.")
        )
    if instance.lines.filter(reconciliations__isnull=False).exists():
        raise ValidationError(
            _("Some lines of this statement were reconciled once: the statement stays.")
        )
    with transaction.atomic():
        ids = list(instance.lines.values_list("pk", flat=True))
        exceptions_resolve(company=instance.company, source=SOURCE, object_ids=ids)
        instance.lines.all().delete()
        instance.delete()

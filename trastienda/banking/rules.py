"""Services of the reconciliation rules: "a line whose text contains X is booked to account Y".

The rules are applied by :mod:`trastienda.banking.reconciliation`; here they are only written.
Every function validates everything first (errors keyed by field) and writes in one
transaction; the views, the API and the CLI all call these.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trastienda.banking.models import BankAccount, ReconciliationRule
from trastienda.core.models import Company
from trastienda.ledger.models import Account

RULE_FIELDS = (
    "name",
    "bank_account",
    "text_contains",
    "direction",
    "account",
    "entry_description",
    "auto_post",
    "priority",
    "active",
)


def _unknown(data: dict[str, Any]) -> None:
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})


def _record(model: Any, company: Company, value: Any, *, by_code: bool) -> Any:
    """``value`` (an instance, a pk or, for accounts, a code) as a record of ``company``, read
    afresh (an instance's flags may be stale), or None when it is not one of the company's."""
    queryset = model.objects.for_company(company)
    if isinstance(value, model):
        return queryset.filter(pk=value.pk).first()
    if isinstance(value, int) and not isinstance(value, bool):
        return queryset.filter(pk=value).first()
    text = str(value).strip()
    if by_code:
        return queryset.filter(code=text).first()
    return queryset.filter(pk=int(text)).first() if text.isdigit() else None


def _clean(company: Company, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    values = dict(data)
    errors: dict[str, list[str]] = {}
    values["name"] = str(values.get("name") or "").strip()
    if not values["name"]:
        errors["name"] = [_("Enter a name.")]
    values["text_contains"] = str(values.get("text_contains") or "").strip()
    if not values["text_contains"]:
        errors["text_contains"] = [_("Enter the text the statement line must contain.")]
    elif len(values["text_contains"]) > 100:
        errors["text_contains"] = [_("Use at most 100 characters.")]
    direction = values.get("direction") or ReconciliationRule.Direction.ANY
    if direction not in ReconciliationRule.Direction.values:
        errors["direction"] = [_("Choose money in, money out or either.")]
    values["direction"] = direction
    bank_account = values.get("bank_account")
    if bank_account in (None, ""):
        values["bank_account"] = None
    else:
        found = _record(BankAccount, company, bank_account, by_code=False)
        if found is None:
            errors["bank_account"] = [_("Choose a bank account of this company.")]
        values["bank_account"] = found
    account = values.get("account")
    if account in (None, ""):
        errors["account"] = [_("Choose the account the lines are booked to.")]
    else:
        found = _record(Account, company, account, by_code=True)
        if found is None:
            errors["account"] = [_("Choose an account of this company.")]
        elif not found.postable or not found.active:
            errors["account"] = [
                _("Account %(code)s cannot take entries: choose an active, postable account.")
                % {"code": found.code}
            ]
        values["account"] = found
    values["entry_description"] = str(values.get("entry_description") or "").strip()
    if len(values["entry_description"]) > 200:
        errors["entry_description"] = [_("Use at most 200 characters.")]
    priority: Any = values.get("priority")
    if priority is None or priority == "":
        values["priority"] = 100
    else:
        try:
            values["priority"] = int(priority)
            if values["priority"] < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors["priority"] = [_("Enter a whole number, 0 or more.")]
    values["auto_post"] = bool(values.get("auto_post", False))
    values["active"] = bool(values.get("active", True))
    return values, errors


def rule_create(*, company: Company, **data: Any) -> ReconciliationRule:
    """Add a reconciliation rule (``account`` as an instance, pk or code)."""
    _unknown(data)
    values, errors = _clean(company, data)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rule = ReconciliationRule(company=company, **values)
        rule.save()
    return rule


def rule_update(*, instance: ReconciliationRule, **data: Any) -> ReconciliationRule:
    """Change a rule; fields left out keep their value."""
    _unknown(data)
    with transaction.atomic():
        rule = ReconciliationRule.objects.select_for_update().get(pk=instance.pk)
        current = {name: getattr(rule, name) for name in RULE_FIELDS}
        values, errors = _clean(rule.company, current | data)
        if errors:
            raise ValidationError(errors)
        for name, value in values.items():
            setattr(rule, name, value)
        rule.save()
    return rule


def rule_delete(*, instance: ReconciliationRule) -> None:
    """Delete a rule (reconciliations it proposed keep their entries)."""
    with transaction.atomic():
        instance.delete()


__all__ = ["RULE_FIELDS", "rule_create", "rule_delete", "rule_update"]

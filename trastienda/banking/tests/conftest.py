"""Fixtures of the banking tests, for every banking test module.

The root ``trastienda/conftest.py`` gives ``company`` (ACME, Spanish chart and journals),
``other_company``, ``make_user``, ``accountant`` (role with every banking permission),
``login`` and ``csrf_client``. Here:

- ``bank_account``: ACME's account ``MAIN_IBAN`` (ledger account and journal from the chart);
  ``make_bank_account(iban, company=..., **fields)`` for more;
- ``administrator`` (every permission, the exception queue's assignments included),
  ``clerk`` (reads banking, imports nothing), ``outsider`` (HR manager: no banking at all);
- ``client_logged``: the test client signed in as the accountant;
- ``api``: ``api.get/post/...(url, ...)`` with ``X-Company: ACME``, signed in as the
  accountant (``api.as_user(user)`` for another);
- ``imported``: the March camt.053 of ``bank_account`` imported (an ``ImportResult``);
- ``row_counts()``: rows of every banking table, to assert that a refusal wrote nothing.

Statement files are built by :mod:`trastienda.banking.tests.builders`; real samples live in
``tests/data/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from trastienda.banking import services
from trastienda.banking.models import (
    BankAccount,
    Reconciliation,
    ReconciliationRule,
    Statement,
    StatementLine,
)
from trastienda.banking.tests.builders import MAIN_IBAN, march_camt


def row_counts() -> dict[str, int]:
    from trastienda.audit.models import AuditEntry
    from trastienda.core.models import Job

    return {
        "accounts": BankAccount.objects.count(),
        "statements": Statement.objects.count(),
        "lines": StatementLine.objects.count(),
        "rules": ReconciliationRule.objects.count(),
        "reconciliations": Reconciliation.objects.count(),
        "imports_audited": AuditEntry.objects.filter(object_type="banking.statementimport").count(),
        "jobs": Job.objects.count(),
    }


@pytest.fixture
def make_bank_account(company: Any) -> Callable[..., BankAccount]:
    def make(iban: str = MAIN_IBAN, *, company: Any = company, **fields: Any) -> BankAccount:
        fields.setdefault("name", f"Account {iban[-4:]}")
        return services.bank_account_create(company=company, iban=iban, **fields)

    return make


@pytest.fixture
def bank_account(make_bank_account: Callable[..., BankAccount]) -> BankAccount:
    return make_bank_account(MAIN_IBAN, name="Cuenta principal")


@pytest.fixture
def administrator(make_user: Callable[..., Any], company: Any) -> Any:
    return make_user("ana", company=company, role="administrator")


@pytest.fixture
def clerk(make_user: Callable[..., Any], company: Any) -> Any:
    return make_user("carlos", company=company, role="clerk")


@pytest.fixture
def outsider(make_user: Callable[..., Any], company: Any) -> Any:
    return make_user("helena", company=company, role="hr_manager")


@pytest.fixture
def client_logged(login: Callable[[Any], Client], accountant: Any) -> Client:
    return login(accountant)


class Api:
    """The test client speaking to ``/api/v1/`` in one company."""

    def __init__(self, client: Client, company_code: str) -> None:
        self.client = client
        self.headers: dict[str, Any] = {"HTTP_X_COMPANY": company_code}

    def as_user(self, user: Any) -> Api:
        self.client.force_login(user)
        return self

    def get(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.client.get(url, data, **self.headers, **extra)

    def post(self, url: str, data: Any = None, *, json: bool = True, **extra: Any) -> Any:
        if json:
            return self.client.post(
                url, data, content_type="application/json", **self.headers, **extra
            )
        return self.client.post(url, data, **self.headers, **extra)  # multipart

    def put(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.client.put(url, data, content_type="application/json", **self.headers, **extra)

    def patch(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.client.patch(
            url, data, content_type="application/json", **self.headers, **extra
        )

    def delete(self, url: str, **extra: Any) -> Any:
        return self.client.delete(url, **self.headers, **extra)


@pytest.fixture
def api(client: Client, company: Any, accountant: Any) -> Api:
    return Api(client, company.code).as_user(accountant)


@pytest.fixture
def imported(bank_account: BankAccount, accountant: Any) -> services.ImportResult:
    return services.statement_import(
        company=bank_account.company,
        content=march_camt(),
        filename="march.xml",
        user=accountant,
    )

"""Fixtures shared by every app's tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from trastienda.core import services as core_services

PASSWORD = "Correct-Horse-Battery-9"  # noqa: S105
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_language_leak() -> Iterator[None]:
    """A request activates a language in this thread and leaves it active: reset it."""
    yield
    translation.deactivate()


@pytest.fixture
def make_company(db: Any) -> Callable[..., Any]:
    def make(code: str | None = None, country: str = "ES", **kw: Any) -> Any:
        n = next(_seq)
        tax = {"ES": "B12345674", "IT": "IT00743110157"}.get(country, f"X{n}")
        return core_services.company_create(
            code=code or f"CO{n}",
            legal_name=kw.pop("legal_name", f"Company {n} S.L."),
            country=country,
            tax_id=kw.pop("tax_id", tax),
            **kw,
        )

    return make


@pytest.fixture
def company(make_company: Callable[..., Any]) -> Any:
    return make_company("ACME", legal_name="Acme Ibérica S.L.")


@pytest.fixture
def other_company(make_company: Callable[..., Any]) -> Any:
    return make_company("OTRA", country="IT", legal_name="Altra Società S.r.l.")


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    def make(
        username: str | None = None, *, company: Any = None, role: str = "accountant", **kw: Any
    ) -> Any:
        user = core_services.user_create(
            username=username or f"user{next(_seq)}", password=PASSWORD, **kw
        )
        if company is not None:
            core_services.membership_set(company=company, user=user, role_code=role)
        return user

    return make


@pytest.fixture
def accountant(make_user: Callable[..., Any], company: Any) -> Any:
    return make_user(
        "marta", company=company, role="accountant", first_name="Marta", last_name="Gómez"
    )


@pytest.fixture
def csrf_client() -> Client:
    """A test client that enforces CSRF like a browser would."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def login(client: Client) -> Callable[[Any], Client]:
    """Log a user in on the plain test client (session, no two-factor step)."""

    def do(user: Any) -> Client:
        client.force_login(user)
        return client

    return do

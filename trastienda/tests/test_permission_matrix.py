"""Walks every company page of the URL configuration for every built-in role.

New modules are covered without touching this file: their generic views declare the
permission they need, the demo fills their tables, and this test checks that each role is
let in exactly where its permissions say, that a non-member gets 404 and that an anonymous
visitor is sent to the login page.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_totp.models import TOTPDevice

from trastienda.core.demo import demo_run
from trastienda.core.generic import CompanyView
from trastienda.core.models import Company, Membership
from trastienda.core.permissions import BUILTIN_ROLES, membership_perms
from trastienda.core.services import membership_set, user_create

COMPANY_PREFIX = "c/<str:company>/"
# Pages about one user's own objects rather than a role's permissions; their tests check
# that nobody else reaches them (trastienda/core/tests/test_jobs.py).
OWN_OBJECT_PAGES = {"job_detail", "job_download"}


def walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found += walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append((prefix + str(entry.pattern), entry))
    return found


def company_pages() -> list[tuple[str, Any]]:
    return [
        (route, p)
        for route, p in walk(get_resolver().url_patterns)
        if route.startswith(COMPANY_PREFIX) and p.name not in OWN_OBJECT_PAGES
    ]


def required(pattern: Any, kwargs: dict[str, Any]) -> tuple[str | None, Any]:
    """(permission the page needs or None for any member, the ObjectViews if any)."""
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is None or not issubclass(view_class, CompanyView):
        return getattr(pattern.callback, "required_perm", None), None
    view = view_class(**pattern.callback.view_initkwargs)
    view.kwargs = kwargs
    return view.get_required_perm() or None, view.views


def fill(route: str, company: Company, views: Any) -> tuple[str, dict[str, Any]] | None:
    url, kwargs = route.replace("<str:company>", company.code), {}
    if "<int:pk>" in url:
        assert views is not None, f"{route}: a page with a pk must be a generic view"
        scope = SimpleNamespace(company=company, user=None)
        obj = views.get_queryset(scope).order_by("pk").first()
        assert obj is not None, f"the demo has no {views.model._meta.label} for {route}"
        url, kwargs = url.replace("<int:pk>", str(obj.pk)), {"pk": obj.pk}
    if "<" in url:
        return None
    return "/" + url, kwargs


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    ctx = demo_run(log=lambda _line: None)
    company = next(iter(ctx.companies.values()))
    clients: dict[str, tuple[Client, frozenset[str]]] = {}
    for spec in BUILTIN_ROLES:
        user = user_create(username=f"matrix-{spec.code}", password=None)
        membership = membership_set(company=company, user=user, role_code=spec.code)
        client = Client()
        client.force_login(user)
        if spec.two_factor:
            device = TOTPDevice.objects.create(user=user, name="matrix", confirmed=True)
            session = client.session
            session["otp_device_id"] = device.persistent_id
            session.save()
        clients[spec.code] = (client, membership_perms(Membership.objects.get(pk=membership.pk)))
    outsider = user_create(username="matrix-outsider", password=None)
    other = Company.objects.exclude(pk=company.pk).first()
    assert other is not None
    membership_set(company=other, user=outsider, role_code="administrator")
    return {"company": company, "clients": clients, "outsider": outsider}


def test_every_company_page_for_every_role(world: dict[str, Any]) -> None:
    company = world["company"]
    checked = 0
    failures = []
    for route, pattern in company_pages():
        perm, views = required(pattern, {"pk": 1} if "<int:pk>" in route else {})
        filled = fill(route, company, views)
        if filled is None:
            failures.append(f"{route}: cannot fill its URL parameters")
            continue
        url, _kwargs = filled
        for role, (client, perms) in world["clients"].items():
            response = client.get(url)
            allowed = perm is None or perm in perms
            if response.status_code == 405:  # POST-only endpoints (bulk delete...)
                expected_ok = True
            elif allowed:  # let in (a download of a record without a file answers 404)
                expected_ok = response.status_code in (200, 302) or (
                    response.status_code == 404 and url.endswith("/download/")
                )
            else:
                expected_ok = response.status_code == 403
            if not expected_ok:
                failures.append(f"{role:13} GET {url} → {response.status_code} (needs {perm})")
            checked += 1
    assert not failures, "\n".join(failures)
    assert checked > 50


def test_posts_are_denied_without_permission(world: dict[str, Any]) -> None:
    from django.apps import apps
    from django.db import connection

    company = world["company"]

    def row_counts() -> dict[str, int]:
        with connection.cursor() as cursor:
            counts = {}
            for model in apps.get_models():
                if model._meta.app_label in {"audit", "sessions", "axes", "accounts"}:
                    continue
                cursor.execute(f'SELECT COUNT(*) FROM "{model._meta.db_table}"')
                counts[model._meta.label] = cursor.fetchone()[0]
            return counts

    denied: list[tuple[str, Client, str]] = []
    for route, pattern in company_pages():
        perm, views = required(pattern, {"pk": 1} if "<int:pk>" in route else {})
        if perm is None or views is None or not route.endswith(("add/", "edit/", "delete/")):
            continue
        filled = fill(route, company, views)
        assert filled is not None
        url, _kwargs = filled
        denied += [
            (role, client, url)
            for role, (client, perms) in world["clients"].items()
            if perm not in perms
        ]
    assert len(denied) > 20

    def post(client: Client, url: str) -> int:
        return client.post(url, {"confirm": "1", "pk": [1, 2, 3]}).status_code

    # The tables are counted before and after all the POSTs (counting every table around
    # each POST took most of this test's minute); only if a count moved are they counted
    # around each POST again, to name the ones that wrote.
    before = row_counts()
    failures = [
        f"{role} POST {url} → {status}"
        for role, client, url in denied
        if (status := post(client, url)) != 403
    ]
    if row_counts() != before:
        for role, client, url in denied:
            counts = row_counts()
            post(client, url)
            if row_counts() != counts:
                failures.append(f"{role} POST {url} changed data")
        failures.append("the denied POSTs changed data")
    assert not failures, "\n".join(failures)


def test_non_member_and_anonymous(world: dict[str, Any]) -> None:
    company = world["company"]
    outsider = Client()
    outsider.force_login(world["outsider"])
    anonymous = Client()
    for route, pattern in company_pages():
        _perm, views = required(pattern, {"pk": 1} if "<int:pk>" in route else {})
        filled = fill(route, company, views)
        if filled is None:
            continue
        url, _kwargs = filled
        response = outsider.get(url)
        assert response.status_code in (404, 405), f"outsider GET {url} → {response.status_code}"
        response = anonymous.get(url)
        assert response.status_code in (302, 405), f"anonymous GET {url} → {response.status_code}"
        if response.status_code == 302:
            assert "/accounts/login/" in response["Location"]


def api_cases() -> list[tuple[str, str, Any, str]]:
    """(method, path, viewset, action) of every list and create route of the REST API."""
    from trastienda.core.api import iter_routes

    get_resolver().url_patterns  # noqa: B018 - loading the URLconf registers every API module
    cases = []
    for prefix, viewset in iter_routes():
        if hasattr(viewset, "list"):
            cases.append(("GET", f"/api/v1/{prefix}/", viewset, "list"))
        if hasattr(viewset, "create"):
            cases.append(("POST", f"/api/v1/{prefix}/", viewset, "create"))
    return cases


def api_required(viewset: Any, method: str, action: str) -> list[str] | None:
    from trastienda.core.rest import required_perms

    view = viewset()
    view.action = action
    return required_perms(SimpleNamespace(method=method), view)


def test_every_api_route_for_every_role(world: dict[str, Any]) -> None:
    from rest_framework.authtoken.models import Token

    company = world["company"]
    failures = []
    cases = api_cases()
    assert any(path.endswith("/documents/") for _m, path, _v, _a in cases)
    for role, (client, perms) in world["clients"].items():
        user = client.session.get("_auth_user_id")
        token, _created = Token.objects.get_or_create(user_id=user)
        api = Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_X_COMPANY=company.code)
        for method, path, viewset, action in cases:
            needed = api_required(viewset, method, action) or []
            allowed = all(p in perms for p in needed)
            if method == "GET":
                status = api.get(path).status_code
                ok = status == 200 if allowed else status == 403
            else:
                status = api.post(path, data={}, content_type="application/json").status_code
                ok = status in (400, 201) if allowed else status == 403
            if not ok:
                failures.append(f"{role:13} {method} {path} → {status} (needs {needed})")
    outsider = Client(HTTP_X_COMPANY=company.code)
    outsider.force_login(world["outsider"])
    for method, path, viewset, _action in cases:
        scoped = getattr(viewset, "company_scoped", True)  # the company list is the user's own
        if method == "GET" and scoped and outsider.get(path).status_code != 404:
            failures.append(f"outsider GET {path} with X-Company {company.code} is not 404")
    anonymous = Client()
    for method, path, _viewset, _action in cases:
        status = anonymous.generic(method, path).status_code
        if status != 401:
            failures.append(f"anonymous {method} {path} → {status}")
    assert not failures, "\n".join(failures)

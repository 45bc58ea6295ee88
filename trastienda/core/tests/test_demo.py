"""The demo data: two companies, one person per built-in role, idempotent, extensible."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from trastienda.core import demo
from trastienda.core.models import Company, Membership, Role
from trastienda.core.permissions import BUILTIN_ROLES
from trastienda.core.services import FORBIDDEN_USERNAMES
from trastienda.documents.models import Document


def counts():
    return {
        "companies": Company.objects.count(),
        "roles": Role.objects.count(),
        "users": get_user_model().objects.count(),
        "memberships": Membership.objects.count(),
        "documents": Document.objects.count(),
    }


@pytest.mark.django_db
def test_demo_creates_two_companies_and_a_person_per_role():
    demo.demo_run(log=lambda line: None)
    es, it = Company.objects.get(code="ES01"), Company.objects.get(code="IT01")
    assert (es.legal_name, es.country, es.tax_id, es.base_currency, es.language) == (
        "Ferretería Ibérica S.L.",
        "ES",
        "B87654323",
        "EUR",
        "es",
    )
    assert (it.legal_name, it.country, it.tax_id, it.base_currency, it.language) == (
        "Ferramenta Italiana S.r.l.",
        "IT",
        "02483170920",
        "EUR",
        "it",
    )
    for company in (es, it):
        roles = set(Membership.objects.filter(company=company).values_list("role__code", flat=True))
        assert roles == {spec.code for spec in BUILTIN_ROLES}
        assert Document.objects.for_company(company).count() >= 4
    users = get_user_model().objects.all()
    assert users.count() == len(demo.DEMO_USERS)
    for user in users:
        assert user.username.lower() not in FORBIDDEN_USERNAMES
        assert user.first_name and user.last_name
        assert user.check_password(demo.DEMO_PASSWORD)
        assert not user.is_superuser
    lucia = Membership.objects.filter(user__username="lucia.martin")
    assert sorted(lucia.values_list("company__code", "role__code")) == [
        ("ES01", "administrator"),
        ("IT01", "administrator"),
    ]
    assert Membership.objects.get(user__username="marco.rossi").role.code == "accountant"
    assert get_user_model().objects.get(username="marco.rossi").profile.language == "it"


@pytest.mark.django_db
def test_demo_twice_creates_nothing_twice():
    demo.demo_run(log=lambda line: None)
    first = counts()
    assert first == {"companies": 2, "roles": 16, "users": 14, "memberships": 16, "documents": 9}
    lines = []
    demo.demo_run(log=lines.append)
    assert counts() == first
    assert lines == []  # nothing new to report


@pytest.mark.django_db
def test_demo_completes_what_is_missing():
    demo.demo_run(log=lambda line: None)
    Document.objects.filter(reference="DEMO-ES-002").delete()
    Membership.objects.filter(user__username="carmen.lopez").delete()
    demo.demo_run(log=lambda line: None)
    assert counts()["documents"] == 9
    assert Membership.objects.get(user__username="carmen.lopez").role.code == "clerk"


@pytest.mark.django_db
def test_later_modules_add_steps_that_see_the_companies(monkeypatch):
    monkeypatch.setattr(demo, "_STEPS", list(demo._STEPS))
    seen = []

    @demo.demo_step(order=500)
    def module_step(ctx):
        seen.append(sorted(ctx.companies))
        seen.append(len(ctx.users))

    names = [name for _order, name, _fn in demo.demo_steps()]
    assert names.index(f"{__name__}.{module_step.__qualname__}") == len(names) - 1
    demo.demo_run(log=lambda line: None)
    assert seen == [["ES01", "IT01"], len(demo.DEMO_USERS)]


@pytest.mark.django_db
def test_demo_command_prints_the_logins(capsys):
    call_command("demo", no_serve=True)
    out = capsys.readouterr().out
    assert f"password: {demo.DEMO_PASSWORD}" in out
    assert "lucia.martin       Lucía Martín       ES01: Administrator, IT01: Administrator" in out
    assert "marco.rossi        Marco Rossi        IT01: Accountant" in out
    assert "Open http://127.0.0.1:8000/accounts/login/" in out
    for username, *_rest in demo.DEMO_USERS:
        assert username in out
    call_command("demo", no_serve=True)
    assert counts()["users"] == len(demo.DEMO_USERS)

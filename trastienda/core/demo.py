"""Demo data: two companies, one person per built-in role, and some records in every module.

``trastienda demo`` runs every registered step in order. A module adds its own demo data
with a step in its app's ``demo.py`` (found by autodiscovery)::

    from trastienda.core.demo import DemoContext, demo_step

    @demo_step(order=200)
    def invoices(ctx: DemoContext) -> None:
        for company in ctx.companies.values():
            ...  # create records through the module's services, if they are not there yet

Steps are idempotent: they look records up by natural keys and create only what is
missing, so running the demo twice leaves the same data. Core's steps run first (order < 100):
companies, users and memberships, then a few documents.

The demo password (:data:`DEMO_PASSWORD`) is printed on the console: it is for trying
Trastienda out on your own machine only. Never run the demo on a server others can reach.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.module_loading import autodiscover_modules

from trastienda.core import context
from trastienda.core import services as core_services
from trastienda.core.models import Company, Membership

DEMO_PASSWORD = "Trastienda-demo-2025"  # noqa: S105 - printed on purpose; demo only


@dataclass
class DemoLogin:
    username: str
    name: str
    roles: list[str]  # "ES01: Administrator"


@dataclass
class DemoContext:
    """What steps share: the demo companies by code, the demo users by username."""

    companies: dict[str, Company] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = print


DemoStep = Callable[[DemoContext], None]
_STEPS: list[tuple[int, str, DemoStep]] = []


def demo_step(*, order: int) -> Callable[[DemoStep], DemoStep]:
    """Register a demo step; steps run by ascending ``order`` (core uses 0-99)."""

    def register(fn: DemoStep) -> DemoStep:
        name = f"{fn.__module__}.{fn.__qualname__}"
        if all(existing != name for _order, existing, _fn in _STEPS):
            _STEPS.append((order, name, fn))
        return fn

    return register


def demo_steps() -> list[tuple[int, str, DemoStep]]:
    """Every registered step, in the order they run (after importing every app's ``demo``)."""
    autodiscover_modules("demo")
    return sorted(_STEPS, key=lambda step: (step[0], step[1]))


def demo_run(*, log: Callable[[str], None] = print) -> DemoContext:
    """Create (or complete) the demo data. Each step runs in its own transaction."""
    ctx = DemoContext(log=log)
    with context.acting(source="cli"):
        for _order, _name, step in demo_steps():
            with transaction.atomic():
                step(ctx)
    return ctx


def demo_logins() -> list[DemoLogin]:
    """The demo users with their roles, for the console."""
    logins = []
    user_model = get_user_model()
    for username, *_rest in DEMO_USERS:
        user = user_model.objects.filter(username=username).first()
        if user is None:
            continue
        roles = [
            f"{m.company.code}: {m.role.name}"
            for m in Membership.objects.filter(user=user, is_active=True)
            .select_related("company", "role")
            .order_by("company__code")
        ]
        logins.append(DemoLogin(username=username, name=user.get_full_name(), roles=roles))
    return logins


# --- core's steps -----------------------------------------------------------------------------

DEMO_COMPANIES = (
    # code, legal name, country, tax id, language
    ("ES01", "Ferretería Ibérica S.L.", "ES", "B87654323", "es"),
    ("IT01", "Ferramenta Italiana S.r.l.", "IT", "02483170920", "it"),
)
DEMO_ADDRESSES = {  # address, postal code, city, province (printed on invoices)
    "ES01": ("Calle del Coso 42", "50004", "Zaragoza", "Zaragoza"),
    "IT01": ("Via Giuseppe Verdi 18", "20121", "Milano", "MI"),
}

# username, first name, last name, language, {company code: role code}
DEMO_USERS: tuple[tuple[str, str, str, str, dict[str, str]], ...] = (
    ("lucia.martin", "Lucía", "Martín", "es", {"ES01": "administrator", "IT01": "administrator"}),
    ("ana.ruiz", "Ana", "Ruiz", "es", {"ES01": "chief_accountant"}),
    ("paolo.conti", "Paolo", "Conti", "it", {"IT01": "chief_accountant"}),
    ("javier.garcia", "Javier", "García", "es", {"ES01": "accountant"}),
    ("marco.rossi", "Marco", "Rossi", "it", {"IT01": "accountant"}),
    ("carmen.lopez", "Carmen", "López", "es", {"ES01": "clerk"}),
    ("giulia.bianchi", "Giulia", "Bianchi", "it", {"IT01": "clerk"}),
    ("pablo.sanchez", "Pablo", "Sánchez", "es", {"ES01": "hr_manager"}),
    ("francesca.russo", "Francesca", "Russo", "it", {"IT01": "hr_manager"}),
    ("diego.fernandez", "Diego", "Fernández", "es", {"ES01": "warehouse"}),
    ("luca.ferrari", "Luca", "Ferrari", "it", {"IT01": "warehouse"}),
    ("elena.moreno", "Elena", "Moreno", "es", {"ES01": "operations"}),
    ("alessandro.romano", "Alessandro", "Romano", "it", {"IT01": "operations"}),
    ("sofia.colombo", "Sofia", "Colombo", "it", {"ES01": "auditor", "IT01": "auditor"}),
)

DEMO_DOCUMENTS = {
    "ES01": (
        (
            "DEMO-ES-001",
            "Contrato de arrendamiento del almacén de Zaragoza",
            "contract",
            dt.date(2024, 3, 1),
            dt.date(2034, 3, 1),
        ),
        (
            "DEMO-ES-002",
            "Manual de procedimientos de administración",
            "policy",
            dt.date(2025, 1, 15),
            None,
        ),
        (
            "DEMO-ES-003",
            "Carta de la Agencia Tributaria: requerimiento IVA 2T",
            "correspondence",
            dt.date(2025, 7, 20),
            dt.date(2031, 12, 31),
        ),
        ("DEMO-ES-004", "Escritura de constitución", "legal", dt.date(2012, 5, 10), None),
        (
            "DEMO-ES-005",
            "Póliza de seguro de responsabilidad civil",
            "contract",
            dt.date(2025, 2, 1),
            dt.date(2031, 2, 1),
        ),
    ),
    "IT01": (
        (
            "DEMO-IT-001",
            "Contratto di fornitura con Acciaierie del Nord",
            "contract",
            dt.date(2024, 9, 1),
            dt.date(2034, 9, 1),
        ),
        (
            "DEMO-IT-002",
            "Manuale delle procedure amministrative",
            "policy",
            dt.date(2025, 1, 10),
            None,
        ),
        (
            "DEMO-IT-003",
            "Comunicazione dell'Agenzia delle Entrate",
            "correspondence",
            dt.date(2025, 6, 5),
            dt.date(2035, 12, 31),
        ),
        ("DEMO-IT-004", "Atto costitutivo", "legal", dt.date(2015, 11, 23), None),
    ),
}


@demo_step(order=10)
def companies(ctx: DemoContext) -> None:
    """The Spanish and the Italian demo company."""
    for code, legal_name, country, tax_id, language in DEMO_COMPANIES:
        company = Company.objects.filter(code=code).first()
        if company is None:
            company = core_services.company_create(
                code=code,
                legal_name=legal_name,
                country=country,
                tax_id=tax_id,
                base_currency="EUR",
                language=language,
            )
            ctx.log(f"  company {code} · {legal_name}")
        if not company.address:
            address, postal_code, city, province = DEMO_ADDRESSES[code]
            company = core_services.company_update(
                company=company,
                address=address,
                postal_code=postal_code,
                city=city,
                province=province,
            )
        ctx.companies[code] = company


@demo_step(order=20)
def users(ctx: DemoContext) -> None:
    """One person per built-in role, with personal names (never ``admin``)."""
    user_model = get_user_model()
    for username, first, last, language, roles in DEMO_USERS:
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = core_services.user_create(
                username=username,
                password=DEMO_PASSWORD,
                email=f"{username}@example.com",
                first_name=first,
                last_name=last,
                language=language,
            )
            ctx.log(f"  user {username}")
        ctx.users[username] = user
        for code, role_code in roles.items():
            company = ctx.companies[code]
            current = Membership.objects.filter(company=company, user=user).first()
            if current is None or current.role.code != role_code or not current.is_active:
                core_services.membership_set(company=company, user=user, role_code=role_code)


@demo_step(order=50)
def documents(ctx: DemoContext) -> None:
    """A handful of archived documents per company, so the lists are not empty."""
    from trastienda.documents.models import Document
    from trastienda.documents.services import document_create

    for code, rows in DEMO_DOCUMENTS.items():
        company = ctx.companies[code]
        for reference, title, kind, date, retain_until in rows:
            if Document.objects.for_company(company).filter(reference=reference).exists():
                continue
            document_create(
                company=company,
                title=title,
                kind=kind,
                reference=reference,
                document_date=date,
                retain_until=retain_until,
            )

"""Built-in roles and the permission checks that every view, API endpoint and export uses.

A role is a set of Django permissions inside one company. Built-in roles are described
here by rule (which apps, which actions), so that a module added later is covered by the
roles automatically: :func:`roles_sync` recomputes every built-in role that its company has
not customised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Permission
from django.utils.translation import gettext_lazy as _

ALL = "__all__"
# Apps that hold the platform's own administration: only administrators and auditors see them.
PLATFORM_APPS = frozenset({"core", "audit", "accounts"})


@dataclass(frozen=True)
class RoleSpec:
    code: str
    name: Any
    description: Any
    full: frozenset[str] | str = frozenset()  # apps with every permission
    write: frozenset[str] = frozenset()  # apps with view/add/change (no delete)
    view: frozenset[str] | str = frozenset()  # apps with view permissions
    extra: frozenset[str] = field(default_factory=frozenset)  # "app_label.codename"
    exclude: frozenset[str] = field(default_factory=frozenset)  # "app_label.codename"
    two_factor: bool = False


BUILTIN_ROLES: tuple[RoleSpec, ...] = (
    RoleSpec(
        "administrator",
        _("Administrator"),
        _("Everything, including users, roles and company settings."),
        full=ALL,
        two_factor=True,
    ),
    RoleSpec(
        "chief_accountant",
        _("Chief accountant"),
        _("An accountant who also posts before the lock date and closes fiscal years."),
        full=frozenset({"ledger", "billing", "banking", "matching", "documents"}),
        view=ALL,
        extra=frozenset({"core.export_data"}),
    ),
    RoleSpec(
        "accountant",
        _("Accountant"),
        _("Books, invoicing, banking and documents; reads every business area."),
        full=frozenset({"ledger", "billing", "banking", "matching", "documents"}),
        view=ALL,
        extra=frozenset({"core.export_data"}),
        exclude=frozenset({"ledger.post_before_lock", "ledger.change_fiscalyear"}),
    ),
    RoleSpec(
        "clerk",
        _("Clerk"),
        _("Enters invoices, partners and documents; cannot delete."),
        write=frozenset({"billing", "documents", "inventory"}),
        view=frozenset({"billing", "documents", "inventory", "banking"}),
    ),
    RoleSpec(
        "hr_manager",
        _("HR manager"),
        _("People, payroll and their documents."),
        full=frozenset({"people", "payroll", "documents"}),
        view=frozenset({"people", "payroll", "documents"}),
        extra=frozenset({"core.export_data"}),
    ),
    RoleSpec(
        "warehouse",
        _("Warehouse"),
        _("Stock, warehouses, receipts and deliveries."),
        full=frozenset({"inventory"}),
        view=frozenset({"inventory", "documents"}),
        extra=frozenset({"core.export_data"}),
    ),
    RoleSpec(
        "operations",
        _("Operations / brokerage"),
        _("Trades, confirmations, reconciliation, settlement and expiries."),
        full=frozenset({"trading", "matching", "documents"}),
        view=frozenset({"trading", "documents", "ledger"}),
        extra=frozenset({"core.export_data"}),
    ),
    RoleSpec(
        "auditor",
        _("Auditor"),
        _("Reads everything, including the audit trail; changes nothing."),
        view=ALL,
        extra=frozenset({"core.view_all_audit", "core.export_data"}),
    ),
)
BUILTIN_BY_CODE = {spec.code: spec for spec in BUILTIN_ROLES}


def managed_app_labels() -> list[str]:
    """Labels of Trastienda's own apps: the ones roles are made of."""
    return sorted(cfg.label for cfg in apps.get_app_configs() if cfg.name.startswith("trastienda."))


def _app_set(value: frozenset[str] | str, *, business_only: bool) -> set[str]:
    labels = set(managed_app_labels())
    if value == ALL:
        return labels - PLATFORM_APPS if business_only else labels
    return set(value) & labels


def spec_permissions(spec: RoleSpec) -> list[Permission]:
    """Every Permission the built-in role ``spec`` grants, given the apps installed now."""
    full = _app_set(spec.full, business_only=False)
    write = _app_set(spec.write, business_only=True)
    # The auditor reads the platform apps too; other roles read business apps only.
    view = _app_set(spec.view, business_only=spec.code != "auditor")
    wanted: set[tuple[str, str]] = set()
    perms = list(
        Permission.objects.filter(
            content_type__app_label__in=full | write | view | {"core"}
        ).select_related("content_type")
    )
    for perm in perms:
        app, codename = perm.content_type.app_label, perm.codename
        action = codename.split("_", 1)[0]
        if (
            app in full
            or (app in write and action in {"view", "add", "change"})
            or (app in view and action == "view")
        ):
            wanted.add((app, codename))
    for dotted in spec.extra:
        app, codename = dotted.split(".", 1)
        wanted.add((app, codename))
    for dotted in spec.exclude:
        app, codename = dotted.split(".", 1)
        wanted.discard((app, codename))
    return [p for p in perms if (p.content_type.app_label, p.codename) in wanted]


def roles_sync(companies: Iterable[Any] | None = None) -> int:
    """Create missing built-in roles and refresh the non-customised ones. Returns roles touched."""
    from trastienda.core.models import Company, Role

    touched = 0
    targets = list(companies) if companies is not None else list(Company.objects.all())
    cache = {spec.code: spec_permissions(spec) for spec in BUILTIN_ROLES}
    for company in targets:
        for spec in BUILTIN_ROLES:
            role, created = Role.objects.get_or_create(
                company=company,
                code=spec.code,
                defaults={
                    "name": str(spec.name),
                    "description": str(spec.description),
                    "builtin": True,
                    "requires_two_factor": spec.two_factor,
                },
            )
            if created or not role.customised:
                role.permissions.set(cache[spec.code])
                touched += 1
    return touched


def membership_perms(membership: Any) -> frozenset[str]:
    """``{"app_label.codename", ...}`` granted by a membership's role (cached on the object)."""
    if membership is None or not membership.is_active:
        return frozenset()
    cached = getattr(membership, "_perm_cache", None)
    if cached is None:
        cached = frozenset(
            f"{app}.{codename}"
            for app, codename in membership.role.permissions.values_list(
                "content_type__app_label", "codename"
            )
        )
        membership._perm_cache = cached
    return cached


def has_perm(request: Any, perm: str) -> bool:
    """Whether the request's user holds ``perm`` in the request's active company."""
    return perm in membership_perms(getattr(request, "membership", None))


def model_perm(model: Any, action: str) -> str:
    """``documents.view_document`` for (Document, "view")."""
    meta = model._meta
    return f"{meta.app_label}.{action}_{meta.model_name}"

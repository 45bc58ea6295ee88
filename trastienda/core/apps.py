from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem


def _sync_roles(sender: Any, **kwargs: Any) -> None:
    """After ``migrate``, once: post_migrate is sent per app, and every app's permissions
    exist only when the last one's signal comes (Django sends them in app order)."""
    from django.apps import apps

    from trastienda.core.permissions import roles_sync

    with_models = [cfg for cfg in apps.get_app_configs() if cfg.models_module is not None]
    if with_models and sender is with_models[-1]:
        roles_sync()


class CoreConfig(AppConfig):
    name = "trastienda.core"
    label = "core"
    verbose_name = _("Platform")
    menus = (
        Menu(
            label=_("Workspace"),
            icon="bi-person-workspace",
            items=(MenuItem(_("Jobs"), "job_list", "", "bi-hourglass-split"),),
            order=10,
        ),
    )
    menu = Menu(
        label=_("Administration"),
        icon="bi-gear",
        items=(
            MenuItem(
                _("Company settings"),
                "company_admin:settings",
                "core.change_company",
                "bi-building-gear",
            ),
            MenuItem(
                _("Members"), "company_admin:membership_list", "core.view_membership", "bi-people"
            ),
            MenuItem(_("Roles"), "company_admin:role_list", "core.view_role", "bi-person-badge"),
        ),
        order=950,
    )

    def ready(self) -> None:
        # After migrations add a module's permissions, built-in roles pick them up.
        post_migrate.connect(_sync_roles, dispatch_uid="trastienda_roles_sync")
        from trastienda.core import export_jobs  # noqa: F401 - registers the "core.export" job

"""Matching: the engine that pairs items of two sources (bank lines and invoices, front-office
and back-office trades) and the queue of what stays unmatched. See ``DESIGN.md``."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem


class MatchingConfig(AppConfig):
    name = "trastienda.matching"
    label = "matching"
    verbose_name = _("Matching")
    menu = Menu(
        label=_("Exceptions"),
        icon="bi-exclamation-diamond",
        items=(
            MenuItem(
                _("Exception queue"),
                "matching:matchexception_list",
                "matching.view_matchexception",
                "bi-inboxes",
            ),
        ),
        order=410,
    )

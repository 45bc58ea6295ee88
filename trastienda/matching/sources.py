"""What the exception queue knows about each source: a label and where an item is worked on.

A source is named ``"<app_label>.<model>"`` (``"banking.statementline"``). The queue never
imports the source's app: it only reverses the URL name a source declares here, with the
item's id as a query parameter (the bank reconciliation screen opens at ``?line=<id>``). An app
that puts items in the queue may add its own entry with :func:`source_register` (from its
``AppConfig.ready``); sources without one are listed with their raw name and no link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Source:
    label: Any
    url_name: str = ""  # reversed with ``company=<code>``
    param: str = "id"  # the query parameter that carries the item's id


SOURCES: dict[str, Source] = {
    "banking.statementline": Source(_("Bank statement line"), "banking:reconcile", "line"),
}


def source_register(name: str, source: Source) -> None:
    """Declare (or replace) how items of ``name`` are labelled and linked."""
    SOURCES[name] = source


def source_label(name: str) -> str:
    source = SOURCES.get(name)
    return str(source.label) if source is not None else name


def source_choices() -> list[tuple[str, str]]:
    return sorted(((name, str(s.label)) for name, s in SOURCES.items()), key=lambda c: c[1])


def item_url(company_code: str, name: str, object_id: int) -> str:
    """Where the item is worked on (``/c/ACME/banking/reconcile/?line=17``), or ``""``."""
    source = SOURCES.get(name)
    if source is None or not source.url_name:
        return ""
    try:
        url = reverse(source.url_name, kwargs={"company": company_code})
    except NoReverseMatch:
        return ""
    return f"{url}?{source.param}={int(object_id)}"

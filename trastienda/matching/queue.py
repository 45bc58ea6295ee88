"""Services of the exception queue (see :mod:`trastienda.matching.models`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from trastienda.core.models import Company
from trastienda.matching.models import MatchException


@dataclass(frozen=True, slots=True)
class Unmatched:
    """What a source tells the queue about an item left unmatched."""

    object_id: int
    summary: str
    amount: int
    currency: str
    date: dt.date
    reason: str = ""


def exceptions_open(*, company: Company, source: str, items: Iterable[Unmatched]) -> int:
    """Put unmatched items in the queue (an item already open keeps its owner, note and
    age; its reason is refreshed). Returns how many were added."""
    items = list(items)
    if not items:
        return 0
    queryset = MatchException.objects.filter(company=company, source=source, state="open")
    existing: dict[int, MatchException] = {}
    ids = [item.object_id for item in items]
    for start in range(0, len(ids), 900):
        for found in queryset.filter(object_id__in=ids[start : start + 900]):
            existing[found.object_id] = found
    new = [
        MatchException(
            company=company,
            source=source,
            object_id=item.object_id,
            summary=item.summary[:300],
            amount=item.amount,
            currency=item.currency,
            item_date=item.date,
            reason=item.reason[:300],
        )
        for item in items
        if item.object_id not in existing
    ]
    changed = []
    for item in items:
        found = existing.get(item.object_id)
        if found is not None and found.reason != item.reason[:300]:
            found.reason = item.reason[:300]
            changed.append(found)
    with transaction.atomic():
        MatchException.objects.bulk_create(new, batch_size=1000)
        MatchException.objects.bulk_update(changed, ["reason"], batch_size=1000)
    return len(new)


def exceptions_resolve(*, company: Company, source: str, object_ids: Iterable[int]) -> int:
    """Close the open exceptions of items that got matched. Returns how many."""
    ids = list(object_ids)
    closed = 0
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, len(ids), 900):
            closed += MatchException.objects.filter(
                company=company, source=source, state="open", object_id__in=ids[start : start + 900]
            ).update(state="resolved", resolved_at=now)
    return closed


def exception_reopen(*, company: Company, source: str, item: Unmatched) -> None:
    """An item is unmatched again (its match was undone)."""
    exceptions_open(company=company, source=source, items=[item])


def exception_assign(
    *, instance: MatchException, owner: Any = None, note: str | None = None
) -> None:
    """Give an exception an owner (or none) and a note."""
    with transaction.atomic():
        instance.owner = owner
        if note is not None:
            instance.note = note[:300]
        instance.save(update_fields=["owner", "note"])

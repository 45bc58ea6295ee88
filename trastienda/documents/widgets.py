"""Dashboard card of the document archive: documents by kind, and what is due for disposal."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.utils import timezone

from trastienda.documents.models import Document


def documents_summary(request: Any) -> dict[str, Any]:
    documents = Document.objects.for_company(request.company)
    labels = dict(Document.Kind.choices)
    by_kind = {row["kind"]: row["n"] for row in documents.values("kind").annotate(n=Count("id"))}
    return {
        "total": sum(by_kind.values()),
        "expired": documents.filter(retain_until__lt=timezone.localdate()).count(),
        "chart": {
            "type": "bar",
            "labels": [str(labels[k]) for k in labels],
            "values": [by_kind.get(k, 0) for k in labels],
        },
    }

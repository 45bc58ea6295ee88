"""PDF rendering: an HTML template to PDF bytes with WeasyPrint (A4, print stylesheet).

Templates extend ``core/pdf/base.html``, which prints on every page a header with the company
(legal name, tax id, code), the document title and subtitle, and a footer with the generation
time and "page X of Y". The stylesheet is the static file ``trastienda/print.css``.

No network: the document's base URL is ``file:///static/``, so ``{% static %}`` paths and
relative names resolve to static files, which :class:`LocalFetcher` reads from disk through
the staticfiles finders; it serves ``data:`` URIs too and refuses every other URL (no HTTP, no
file outside the static files). Reused by any module that prints (reports, invoices).
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

CONTENT_TYPE = "application/pdf"
STYLESHEET = "trastienda/print.css"
BASE_URL = "file:///static/"


class LocalFetcher(URLFetcher):
    """Serves static files from disk and ``data:`` URIs; refuses everything else."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = static_file(url)
        if path is None:
            raise ValueError(f"PDF rendering fetches local static files only, not {url}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


def static_file(url: str) -> Path | None:
    """The file on disk of a ``file:///static/NAME`` URL, found by the staticfiles finders."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    prefix = urlsplit(BASE_URL).path
    if not parts.path.startswith(prefix):
        return None
    name = unquote(parts.path[len(prefix) :])
    if not name or ".." in Path(name).parts:
        return None
    found = finders.find(name)
    if isinstance(found, list):  # pragma: no cover - find(all=False) returns one path
        found = found[0] if found else None
    return Path(found) if found else None


def render_pdf(
    template_name: str,
    context: dict[str, Any],
    *,
    company: Any = None,
    title: str = "",
    subtitle: str = "",
    landscape: bool = False,
    request: HttpRequest | None = None,
    generated_at: dt.datetime | None = None,
) -> bytes:
    """Render ``template_name`` (extending ``core/pdf/base.html``) to PDF bytes."""
    html = render_to_string(
        template_name,
        {
            **context,
            "company": company,
            "title": title,
            "subtitle": subtitle,
            "landscape": landscape,
            "stylesheet": STYLESHEET,
            "generated_at": timezone.localtime(generated_at or timezone.now()),
            "site_name": getattr(settings, "TRASTIENDA_SITE_NAME", "Trastienda"),
        },
        request=request,
    )
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=LocalFetcher())
    return bytes(document.write_pdf())


def cell(text: Any, css: str = "", span: int = 0) -> dict[str, Any]:
    """A cell of ``core/pdf/table.html``: its text, CSS classes (``num`` right-aligns)."""
    return {"text": "" if text is None else text, "css": css, "span": span}


def column(label: Any, numeric: bool = False, css: str = "") -> dict[str, Any]:
    """A column heading of ``core/pdf/table.html`` (``css="label"``: the wide first column
    of a statement)."""
    return {"label": label, "css": " ".join(x for x in ("num" if numeric else "", css) if x)}


def row(cells: list[dict[str, Any]], css: str = "") -> dict[str, Any]:
    """A row of ``core/pdf/table.html`` (``css``: ``strong``, ``group``, ``account``...)."""
    return {"cells": cells, "css": css}

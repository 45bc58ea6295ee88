"""Invoice PDFs: an issued invoice, credit note or simplified invoice as the customer gets it.

:func:`invoice_pdf` renders ``billing/pdf/invoice.html`` with WeasyPrint through
:func:`trastienda.core.pdf.render_pdf` (A4, no network: the company logo is embedded as a
``data:`` URI read from storage), in the document's language (:func:`document_language`:
the invoice's, else the partner's), with ``translation.override`` so that labels, dates,
tax names and legal mentions follow it. Amounts are formatted with
:func:`trastienda.core.money.format_money`; unit prices show the currency's places and up to
``calc.PRICE_EXTRA_DIGITS`` more when they have them (EUR: 2 to 4 decimals).

What the page carries, as Spanish (RD 1619/2012, art. 6 and 7) and Italian (DPR 633/72,
art. 21 and 21-bis) rules ask: the issuer's and the customer's legal names and tax ids (the
customer's address), number and date, the operation date when it differs, each line
(description, quantity, unit, unit price, discount, taxes, net), the tax breakdown per rate
(base, rate, amount), withholdings (IRPF, ritenuta d'acconto), totals and the amount due,
the legal mention of every tax used (reverse charge, exempt intra-EU supply, split
payment...), for a credit note the invoice it rectifies and why, payment instructions with
the company's IBAN and the due dates, the footer text of the billing settings and "page X of
Y". A draft says in its heading and across every page that it is not a valid invoice.

A supplier bill is printed the same way with the roles swapped (the supplier issues it, the
company receives it), as the record the company keeps; the supplier's own PDF, when it is
attached, is the document that counts (see :mod:`trastienda.billing.printing_views`).

Depends on the billing models and :func:`trastienda.billing.services.installments_plan`
(the due dates of a draft); writes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import gettext as gettext_module
import mimetypes
import re
import unicodedata
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override, pgettext

from trastienda.billing import calc
from trastienda.billing.models import (
    BillingSettings,
    Direction,
    Installment,
    Invoice,
    InvoiceLine,
    InvoiceTax,
    Partner,
    PartnerBankAccount,
    Product,
    Tax,
)
from trastienda.core import pdf
from trastienda.core.models import Company
from trastienda.core.money import Money, format_money

LANGUAGES = ("es", "it", "en")
MAX_LOGO_BYTES = 2 * 1024 * 1024
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
TEMPLATE = "billing/pdf/invoice.html"


# --- language, titles, file names -------------------------------------------------------------


def document_language(invoice: Invoice) -> str:
    """The language the document is written in: a sale's own language, else its partner's; a
    supplier bill is the company's record, in the company's language."""
    if invoice.direction == Direction.PURCHASE:
        candidates = [invoice.company.language]
    else:
        candidates = [invoice.language, invoice.partner.language, invoice.company.language]
    for language in candidates:
        if language in LANGUAGES:
            return language
    return "en"


def document_title(invoice: Invoice) -> str:
    """The title printed on the document, in the active language."""
    if invoice.direction == Direction.PURCHASE:
        return _("Supplier bill")
    if invoice.kind == Invoice.Kind.CREDIT_NOTE:
        # Translators: the title of a sales credit note (Spanish "Factura rectificativa",
        # Italian "Nota di credito").
        return _("Credit note")
    if invoice.kind == Invoice.Kind.SIMPLIFIED:
        return _("Simplified invoice")
    return _("Invoice")


def _file_part(text: str) -> str:
    """``text`` as a safe ASCII piece of a file name (accents dropped, the rest hyphens)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._]+", "-", ascii_text).strip("-.") or "document"


def invoice_filename(invoice: Invoice, language: str | None = None) -> str:
    """``Factura-F2026-00001.pdf``, ``Fattura-FT2026-00001.pdf``, ``Invoice-...``; a draft
    ``Invoice-Draft-12.pdf``; a bill its supplier's number."""
    with override(language or document_language(invoice)):
        title = document_title(invoice)
        if invoice.number:
            reference = invoice.number
        elif invoice.direction == Direction.PURCHASE and invoice.supplier_reference:
            reference = invoice.supplier_reference
        else:
            reference = f"{_('Draft')}-{invoice.pk}"
    return f"{_file_part(title)}-{_file_part(reference)}.pdf"


# --- formatting ---------------------------------------------------------------------------------


def money_text(minor: int, currency: str, language: str) -> str:
    return format_money(Money(minor, currency), language)


def decimal_text(value: Decimal, places_min: int = 0, places_max: int = 4) -> str:
    """A decimal in the active language, with at least ``places_min`` and at most
    ``places_max`` decimals (trailing zeros beyond the minimum dropped; never rounded when the
    value has no more than ``places_max`` places)."""
    value = Decimal(value)
    exponent = value.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    places = max(places_min, min(places, places_max))
    return formats.number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)


def percent_text(rate: Decimal) -> str:
    return f"{decimal_text(rate, 0, 4)}%"


def price_text(units: int, currency: str) -> str:
    """A unit price (integer price units) with the currency's places, up to ``price_scale``."""
    price = calc.units_to_price(units, currency)
    scale = calc.price_scale(currency)
    return decimal_text(price, scale - calc.PRICE_EXTRA_DIGITS, scale)


def date_text(value: dt.date | None) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT") if value else ""


def iban_text(iban: str) -> str:
    """``ES9121000418450200051332`` as ``ES91 2100 0418 4502 0005 1332``."""
    compact = re.sub(r"\s+", "", iban or "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


@lru_cache(maxsize=4)
def _country_names(language: str) -> Any:
    import pycountry

    try:
        return gettext_module.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
    except OSError:
        return gettext_module.NullTranslations()


def country_name(code: str, language: str) -> str:
    """The country's name in ``language`` (ISO 3166 names from pycountry), else the code."""
    import pycountry

    code = (code or "").upper()
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if found is None:
        return code
    return str(_country_names(language).gettext(getattr(found, "common_name", found.name)))


def logo_data_uri(company: Company) -> str:
    """The company logo as a ``data:`` URI (read from storage, never fetched), or ""."""
    logo = company.logo
    if not logo or not logo.name:
        return ""
    content_type = mimetypes.guess_type(logo.name)[0] or ""
    if content_type not in LOGO_TYPES:
        return ""
    try:
        with logo.storage.open(logo.name, "rb") as handle:
            data = handle.read(MAX_LOGO_BYTES + 1)
    except (OSError, ValueError):
        return ""
    if not data or len(data) > MAX_LOGO_BYTES:
        return ""
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


# --- the document -------------------------------------------------------------------------------


def _party_of_partner(partner: Partner, language: str, home_country: str) -> dict[str, Any]:
    lines = [partner.address] if partner.address else []
    place = " ".join(x for x in (partner.postal_code, partner.city) if x)
    if partner.province and partner.province != partner.city:
        place = f"{place} ({partner.province})" if place else partner.province
    if place:
        lines.append(place)
    if partner.country and partner.country != home_country:
        lines.append(country_name(partner.country, language))
    tax_id = partner.tax_id
    if tax_id and partner.country and not tax_id[:2].isalpha() and partner.country != home_country:
        tax_id = f"{partner.country}{tax_id}"  # a foreign VAT number shows its country
    return {
        "name": partner.legal_name,
        "trade_name": partner.trade_name if partner.trade_name != partner.legal_name else "",
        "tax_id": tax_id,
        "lines": lines,
    }


def _party_of_company(company: Company) -> dict[str, Any]:
    return {
        "name": company.legal_name,
        "trade_name": "",
        "tax_id": company.tax_id,
        "lines": [
            line
            for line in (
                company.address,
                " ".join(p for p in (company.postal_code, company.city) if p),
                company.province,
            )
            if line
        ],
    }


def _line_taxes_text(taxes: Iterable[Tax]) -> str:
    parts = []
    for tax in sorted(taxes, key=lambda t: (t.kind != Tax.Kind.VAT, t.kind, -t.rate)):
        rate = percent_text(tax.rate)
        if tax.kind == Tax.Kind.WITHHOLDING:
            parts.append(f"-{rate}")
        elif tax.kind == Tax.Kind.SURCHARGE:
            parts.append(f"+{rate}")
        elif tax.nature and not tax.rate:
            parts.append(tax.nature)
        else:
            parts.append(rate)
    return " ".join(parts)


def _unit_text(unit: str) -> str:
    try:
        return str(Product.Unit(unit).label)
    except ValueError:
        return unit


def _base_amount(invoice: Invoice, amount: int) -> int:
    value = Money(amount, invoice.currency).to_decimal() * invoice.rate
    return Money.from_decimal_rounded(value, invoice.company.base_currency, ROUND_HALF_UP).minor


def _due_dates(invoice: Invoice) -> list[tuple[dt.date, int]]:
    if invoice.state == Invoice.State.ISSUED:
        rows = Installment.objects.filter(invoice=invoice).order_by("due_date", "id")
        return [(row.due_date, abs(row.amount)) for row in rows]
    from trastienda.billing.services import installments_plan

    return [(due, abs(amount)) for due, amount in installments_plan(invoice)]


def invoice_context(invoice: Invoice, language: str) -> dict[str, Any]:
    """Everything the template prints, computed in the active language (call it inside
    ``override(language)``)."""
    company = invoice.company
    partner = invoice.partner
    currency = invoice.currency
    sale = invoice.direction == Direction.SALE
    credit_note = invoice.kind == Invoice.Kind.CREDIT_NOTE
    settings = BillingSettings.objects.for_company(company).first()

    def money(minor: int) -> str:
        return money_text(minor, currency, language)

    lines = []
    line_rows = (
        InvoiceLine.objects.filter(invoice=invoice).prefetch_related("taxes").order_by("line_no")
    )
    any_discount = False
    for line in line_rows:
        any_discount = any_discount or bool(line.discount)
        lines.append(
            {
                "no": line.line_no,
                "description": line.description,
                "quantity": decimal_text(line.quantity),
                "unit": _unit_text(line.unit),
                "unit_price": price_text(line.unit_price, currency),
                "discount": percent_text(line.discount) if line.discount else "",
                "taxes": _line_taxes_text(line.taxes.all()),
                "net": money(line.net_amount),
            }
        )

    tax_rows = list(InvoiceTax.objects.filter(invoice=invoice).select_related("tax").order_by("id"))
    tax_rows.sort(key=lambda r: (r.tax.kind != Tax.Kind.VAT, r.tax.kind, -r.tax.rate, r.tax.code))
    breakdown, withholdings = [], []
    split_payment = 0
    mentions: list[str] = []
    used_taxes: dict[int, Tax] = {row.tax.pk: row.tax for row in tax_rows}
    for line in line_rows:
        for tax in line.taxes.all():
            used_taxes.setdefault(tax.pk, tax)
    for row in tax_rows:
        tax = row.tax
        if tax.kind == Tax.Kind.WITHHOLDING:
            withholdings.append(
                {
                    "name": tax.name,
                    "base": money(row.base),
                    "rate": percent_text(tax.rate),
                    "amount": money(-row.amount),
                }
            )
            continue
        note = ""
        if tax.reverse_charge:
            note = _("reverse charge: not charged")
        elif tax.split_payment:
            split_payment += row.amount
            note = _("split payment: paid by the customer to the State")
        breakdown.append(
            {
                "name": tax.name,
                "code": tax.nature or "",
                "base": money(row.base),
                "rate": percent_text(tax.rate),
                "amount": money(row.amount),
                "note": note,
            }
        )
    for tax in sorted(used_taxes.values(), key=lambda t: (t.kind, t.code)):
        mention = tax.legal_mention(language).strip()
        if mention and mention not in mentions:
            mentions.append(mention)

    totals = [
        {"label": _("Net amount"), "amount": money(invoice.net_amount), "css": ""},
        {"label": _("Taxes"), "amount": money(invoice.tax_amount), "css": ""},
        {"label": _("Total"), "amount": money(invoice.total_amount), "css": "total"},
    ]
    for row in withholdings:
        totals.append(
            {
                "label": row["name"],
                "detail": _("%(rate)s of %(base)s") % {"rate": row["rate"], "base": row["base"]},
                "amount": row["amount"],
                "css": "",
            }
        )
    if split_payment:
        totals.append(
            {
                "label": _("VAT under split payment"),
                "amount": money(-split_payment),
                "css": "",
            }
        )
    due_label = _("Amount credited") if credit_note else _("Amount due")
    totals.append({"label": due_label, "amount": money(invoice.payable_amount), "css": "due"})

    foreign = currency != company.base_currency
    exchange = None
    if foreign:
        exchange = {
            "rate": _("1 %(currency)s = %(rate)s %(base)s")
            % {
                "currency": currency,
                "rate": decimal_text(invoice.rate, 0, 10),
                "base": company.base_currency,
            },
            "tax": format_money(
                Money(_base_amount(invoice, invoice.tax_amount), company.base_currency), language
            ),
            "total": format_money(
                Money(_base_amount(invoice, invoice.total_amount), company.base_currency),
                language,
            ),
        }

    due_dates = []
    payment = None
    if not credit_note and invoice.payable_amount > 0:
        due_dates = [
            {"date": date_text(due), "amount": money(amount)} for due, amount in _due_dates(invoice)
        ]
        if sale:
            iban = settings.iban if settings is not None else ""
            bic = settings.bic if settings is not None else ""
        else:
            account = (
                PartnerBankAccount.objects.filter(partner=partner)
                .order_by("-is_default", "id")
                .first()
            )
            iban, bic = (account.iban, account.bic) if account is not None else ("", "")
        payment = {
            "iban": iban_text(iban),
            "bic": bic.upper(),
            "term": invoice.payment_term.name if invoice.payment_term is not None else "",
        }

    rectifies = None
    original = invoice.rectifies
    if original is not None:
        rectifies = {
            "number": str(original),
            "date": date_text(original.date),
            "reason": invoice.rectification_reason,
        }

    company_party = _party_of_company(company)
    partner_party = _party_of_partner(partner, language, company.country)
    issuer, receiver = (company_party, partner_party) if sale else (partner_party, company_party)
    is_draft = sale and invoice.state != Invoice.State.ISSUED
    title = document_title(invoice)
    number = invoice.number or (invoice.supplier_reference if not sale else "")
    return {
        "invoice": invoice,
        "language": language,
        "sale": sale,
        "is_draft": is_draft,
        "is_posted": invoice.state == Invoice.State.ISSUED,
        "credit_note": credit_note,
        "simplified": invoice.kind == Invoice.Kind.SIMPLIFIED,
        "doc_title": title,
        "number": number,
        "footer_title": f"{title} {number}".strip() if number else f"{title} · {_('Draft')}",
        "date": date_text(invoice.date),
        "operation_date": (
            date_text(invoice.operation_date)
            if invoice.operation_date and invoice.operation_date != invoice.date
            else ""
        ),
        "currency": currency,
        "logo": logo_data_uri(company),
        "issuer": issuer,
        "receiver": receiver,
        "lines": lines,
        "any_discount": any_discount,
        "breakdown": breakdown,
        "totals": totals,
        "exchange": exchange,
        "mentions": mentions,
        "rectifies": rectifies,
        "due_dates": due_dates,
        "payment": payment,
        "notes": invoice.notes if sale else "",
        "legal_footer": settings.legal_footer if settings is not None else "",
        "page_word": _("Page"),
        "of_word": pgettext("page X of Y", "of"),
    }


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice (credit note, simplified invoice, or a bill's record) as PDF bytes."""
    language = document_language(invoice)
    invoice = (
        Invoice.objects.select_related("company", "partner", "payment_term", "rectifies", "series")
        .filter(pk=invoice.pk)
        .get()
    )
    with override(language):
        context = invoice_context(invoice, language)
        return pdf.render_pdf(
            TEMPLATE,
            context,
            company=invoice.company,
            title=context["footer_title"],
            generated_at=timezone.now(),
        )

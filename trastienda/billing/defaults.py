"""What a company gets in billing: the taxes of its country, payment terms, invoice series on
the sales journal and the billing settings with default accounts from its chart.

:func:`billing_defaults_load` runs inside :func:`trastienda.core.services.company_create`
(registered by :mod:`trastienda.billing.setup`), after the ledger loaded the chart of
accounts and the journals. It is idempotent: every record is found again by its code and
only what is missing is created; a record the company already has (and may have edited) is
left as it is, and of the settings only empty accounts and a zero late-payment rate are filled.

The same code serves the data migration ``0002_defaults`` for companies that existed before
billing: :func:`defaults_apply` takes an app registry (``django.apps.apps`` here, the
migration's historical ``apps`` there) and touches the models only through it, setting only
fields the registry's model has. Writes through the real models are audited by the audit
recorder (one ``create`` per record); the migration's historical models are not.

Accounts are named by role (``vat_out``, ``receivable``...) and resolved per chart template
(:data:`CHART_ACCOUNTS`) to a postable account of the company's chart; a code the chart lacks
leaves the field empty.

Return boxes. ``Tax.report_base_box`` / ``report_tax_box`` name the box of the VAT return
that the base / the tax amount of an issued invoice goes to (modelo 303 casillas for Spain,
LIPE lines for Italy; :mod:`trastienda.billing.vat_report` reads them). A reverse-charge
purchase is reported twice, as output tax self-assessed and as deductible input tax: its box
fields hold both, ``"output/input"`` (Spain ``10/36`` and ``11/37``: intra-EU acquisitions;
Italy ``VP4/VP5``); a field without ``/`` is one box.

Spanish boxes follow the modelo 303 in force since the third quarter of 2024 (Orden
HAC/819/2024: 0% in 150/152, 2% in 165/167, 4% in 01/03, 5% and 7.5% in 153/155, 10% in
04/06, 21% in 07/09; equivalence surcharge 0.5% in 168/170, 1.4% in 19/21, 5.2% in
22/24; deductible current domestic purchases 28/29, imports 32/33, intra-EU acquisitions
36/37; additional information: intra-EU supplies 59, exports 60, not subject by place of
supply rules 120, domestic reverse charge on sales 122). Credit notes are moved by the report
to the rectification boxes (14/15, 25/26, 40/41).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps as global_apps
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from trastienda.core.models import Company

# --- accounts of each chart template, by role -------------------------------------------------

CHART_BY_COUNTRY = {"ES": "es_pgc_pymes", "IT": "it_civil_code"}  # as the ledger chooses
DEFAULT_CHART = "ifrs"

CHART_ACCOUNTS: dict[str, dict[str, str]] = {
    "es_pgc_pymes": {
        "receivable": "4300",  # Clientes (euros)
        "payable": "4000",  # Proveedores (euros)
        "income": "7000",  # Ventas de mercaderías
        "expense": "6000",  # Compras de mercaderías
        "vat_out": "4770",  # H.P., IVA repercutido
        "vat_in": "4720",  # H.P., IVA soportado
        "withholding_suffered": "4730",  # H.P., retenciones y pagos a cuenta
        "withholding_payable": "4751",  # H.P., acreedora por retenciones practicadas
        "write_off_income": "7690",  # Otros ingresos financieros
        "write_off_expense": "669",  # Otros gastos financieros
        "late_fee": "762",  # Ingresos de créditos
    },
    "it_civil_code": {
        "receivable": "03.02.001",  # Crediti verso clienti
        "payable": "08.06.001",  # Debiti verso fornitori
        "income": "10.01.001",  # Merci c/vendite
        "expense": "11.01.001",  # Merci c/acquisti
        "vat_out": "08.10.001",  # IVA a debito
        "vat_in": "03.02.007",  # IVA a credito
        "withholding_suffered": "03.02.011",  # Erario c/ritenute subite
        "withholding_payable": "08.10.003",  # Erario c/ritenute da versare
        "write_off_income": "10.05.005",  # Altri ricavi e proventi diversi
        "write_off_expense": "11.09.006",  # Altri oneri diversi di gestione
        "late_fee": "12.02.002",  # Interessi attivi su crediti
    },
    "ifrs": {
        "receivable": "1210",  # Trade receivables
        "payable": "2201",  # Trade payables
        "income": "4101",  # Sales of goods
        "expense": "5101",  # Purchases of goods for resale
        "vat_out": "2210",  # Output VAT
        "vat_in": "1220",  # Input VAT
        "withholding_suffered": "1221",  # Income tax receivable
        "withholding_payable": "2212",  # Withholding taxes payable
        "write_off_income": "4204",  # Other operating income
        "write_off_expense": "6214",  # Sundry operating expenses
        "late_fee": "7101",  # Interest income
    },
}

#: Statutory late-payment interest rate in force, per year (ECB main refinancing rate + 8
#: points, published every half year). Spain: Ley 3/2004, art. 7 — 10.15% for the first
#: half of 2026 (Resolución de 23 de diciembre de 2025 de la Secretaría General del Tesoro y
#: Financiación Internacional, BOE-A-2025-27201; the same figure as the second half of 2025,
#: BOE-A-2025-13217). Italy: D.Lgs. 231/2002, art. 5 — the same ECB rate + 8 points.
LATE_INTEREST_RATE = {"ES": Decimal("10.15"), "IT": Decimal("10.15")}

# --- taxes -------------------------------------------------------------------------------------

VAT, SURCHARGE, WITHHOLDING = "vat", "surcharge", "withholding"
SALE, PURCHASE = "sale", "purchase"


@dataclass(frozen=True)
class TaxDefault:
    """One tax of a country's defaults (accounts by role, see :data:`CHART_ACCOUNTS`)."""

    code: str
    names: tuple[str, str, str]  # es, it, en
    scope: str
    rate: str
    kind: str = VAT
    category: str = "S"
    nature: str = ""
    reverse_charge: bool = False
    split_payment: bool = False
    sale_account: str = ""
    purchase_account: str = ""
    reverse_charge_account: str = ""
    base_box: str = ""
    tax_box: str = ""
    mentions: tuple[str, str, str] = ("", "", "")

    def values(self, accounts: Mapping[str, Any]) -> dict[str, Any]:
        """Field values of the ``Tax`` row; ``accounts`` maps a role to an account or None."""
        return {
            "name_es": self.names[0],
            "name_it": self.names[1],
            "name_en": self.names[2],
            "kind": self.kind,
            "scope": self.scope,
            "rate": Decimal(self.rate),
            "category": self.category,
            "nature": self.nature,
            "reverse_charge": self.reverse_charge,
            "split_payment": self.split_payment,
            "sale_account": accounts.get(self.sale_account),
            "purchase_account": accounts.get(self.purchase_account),
            "reverse_charge_account": accounts.get(self.reverse_charge_account),
            "report_base_box": self.base_box,
            "report_tax_box": self.tax_box,
            "legal_mention_es": self.mentions[0],
            "legal_mention_it": self.mentions[1],
            "legal_mention_en": self.mentions[2],
        }


def _pct(rate: str, decimal_mark: str) -> str:
    return rate.replace(".", decimal_mark) + "%"


def _vat(code: str, rate: str, scope: str, boxes: tuple[str, str], **kw: Any) -> TaxDefault:
    """A plain VAT rate on sales (output account) or purchases (input account)."""
    es, it = _pct(rate, ","), _pct(rate, ",")
    en = _pct(rate, ".")
    if scope == SALE:
        names = (f"IVA {es} repercutido", f"IVA {it} vendite", f"Output VAT {en}")
        kw.setdefault("sale_account", "vat_out")
    else:
        names = (f"IVA {es} soportado", f"IVA {it} acquisti", f"Input VAT {en}")
        kw.setdefault("purchase_account", "vat_in")
    if Decimal(rate) == 0:
        kw.setdefault("category", "Z")
    return TaxDefault(code, names, scope, rate, base_box=boxes[0], tax_box=boxes[1], **kw)


LEY_IVA = "Ley 37/1992"

SPAIN: tuple[TaxDefault, ...] = (
    # Sales: IVA repercutido, modelo 303 casillas of the base and the cuota.
    _vat("IVA21-V", "21", SALE, ("07", "09")),
    _vat("IVA10-V", "10", SALE, ("04", "06")),
    _vat("IVA4-V", "4", SALE, ("01", "03")),
    _vat("IVA0-V", "0", SALE, ("150", "152")),
    # Recargo de equivalencia, charged to retailers under the surcharge regime.
    TaxDefault(
        "RE5.2",
        (
            "Recargo de equivalencia 5,2%",
            "Sovrapprezzo di equivalenza 5,2%",
            "Equivalence surcharge 5.2%",
        ),
        SALE,
        "5.2",
        kind=SURCHARGE,
        sale_account="vat_out",
        base_box="22",
        tax_box="24",
    ),
    TaxDefault(
        "RE1.4",
        (
            "Recargo de equivalencia 1,4%",
            "Sovrapprezzo di equivalenza 1,4%",
            "Equivalence surcharge 1.4%",
        ),
        SALE,
        "1.4",
        kind=SURCHARGE,
        sale_account="vat_out",
        base_box="19",
        tax_box="21",
    ),
    TaxDefault(
        "RE0.5",
        (
            "Recargo de equivalencia 0,5%",
            "Sovrapprezzo di equivalenza 0,5%",
            "Equivalence surcharge 0.5%",
        ),
        SALE,
        "0.5",
        kind=SURCHARGE,
        sale_account="vat_out",
        base_box="168",
        tax_box="170",
    ),
    # IRPF withheld by our customers on professional invoices (a payment on account of ours).
    TaxDefault(
        "IRPF15-V",
        ("Retención IRPF 15%", "Ritenuta IRPF 15%", "Income tax withholding (IRPF) 15%"),
        SALE,
        "15",
        kind=WITHHOLDING,
        sale_account="withholding_suffered",
        mentions=(
            "Retención a cuenta del IRPF, art. 101 Ley 35/2006",
            "Ritenuta d'acconto IRPF, art. 101 Ley 35/2006",
            "Income tax withheld on account (IRPF), art. 101 Ley 35/2006",
        ),
    ),
    TaxDefault(
        "IRPF7-V",
        (
            "Retención IRPF 7% (inicio de actividad)",
            "Ritenuta IRPF 7% (inizio attività)",
            "Income tax withholding (IRPF) 7% (new activity)",
        ),
        SALE,
        "7",
        kind=WITHHOLDING,
        sale_account="withholding_suffered",
        mentions=(
            "Retención a cuenta del IRPF, art. 101 Ley 35/2006",
            "Ritenuta d'acconto IRPF, art. 101 Ley 35/2006",
            "Income tax withheld on account (IRPF), art. 101 Ley 35/2006",
        ),
    ),
    # Exempt and not subject supplies: rate 0, reported as additional information.
    TaxDefault(
        "EIC-V",
        (
            "Entrega intracomunitaria exenta",
            "Cessione intracomunitaria esente",
            "Exempt intra-EU supply of goods",
        ),
        SALE,
        "0",
        category="K",
        sale_account="vat_out",
        base_box="59",
        mentions=(
            f"Entrega intracomunitaria exenta, art. 25 {LEY_IVA}",
            f"Cessione intracomunitaria esente, art. 25 {LEY_IVA}",
            f"Exempt intra-Community supply, art. 25 {LEY_IVA}",
        ),
    ),
    TaxDefault(
        "PSI-V",
        (
            "Prestación de servicios intracomunitaria",
            "Prestazione di servizi intracomunitaria",
            "Intra-EU supply of services",
        ),
        SALE,
        "0",
        category="AE",
        sale_account="vat_out",
        base_box="59",
        mentions=(
            f"Operación no sujeta, art. 69 {LEY_IVA}: inversión del sujeto pasivo",
            f"Operazione non soggetta, art. 69 {LEY_IVA}: inversione contabile",
            f"Not subject to Spanish VAT, art. 69 {LEY_IVA}: reverse charge",
        ),
    ),
    TaxDefault(
        "EXP-V",
        ("Exportación exenta", "Esportazione esente", "Exempt export"),
        SALE,
        "0",
        category="G",
        sale_account="vat_out",
        base_box="60",
        mentions=(
            f"Exportación exenta, art. 21 {LEY_IVA}",
            f"Esportazione esente, art. 21 {LEY_IVA}",
            f"Exempt export, art. 21 {LEY_IVA}",
        ),
    ),
    TaxDefault(
        "NS-V",
        (
            "No sujeto por reglas de localización",
            "Non soggetta (territorialità)",
            "Not subject (place of supply)",
        ),
        SALE,
        "0",
        category="O",
        sale_account="vat_out",
        base_box="120",
        mentions=(
            f"Operación no sujeta por reglas de localización, arts. 68 a 70 {LEY_IVA}",
            f"Operazione non soggetta per territorialità, artt. 68-70 {LEY_IVA}",
            f"Not subject to Spanish VAT (place of supply), arts. 68-70 {LEY_IVA}",
        ),
    ),
    TaxDefault(
        "ISP-V",
        (
            "Inversión del sujeto pasivo (ventas)",
            "Inversione contabile (vendite)",
            "Domestic reverse charge (sales)",
        ),
        SALE,
        "0",
        category="AE",
        sale_account="vat_out",
        base_box="122",
        mentions=(
            f"Inversión del sujeto pasivo, art. 84.Uno.2º {LEY_IVA}",
            f"Inversione contabile, art. 84.Uno.2º {LEY_IVA}",
            f"Reverse charge: the customer accounts for the VAT, art. 84.Uno.2º {LEY_IVA}",
        ),
    ),
    # Purchases: IVA soportado deducible (current domestic operations).
    _vat("IVA21-C", "21", PURCHASE, ("28", "29")),
    _vat("IVA10-C", "10", PURCHASE, ("28", "29")),
    _vat("IVA4-C", "4", PURCHASE, ("28", "29")),
    _vat("IVA0-C", "0", PURCHASE, ("28", "29")),
    TaxDefault(
        "IMP21-C",
        ("IVA importaciones 21%", "IVA importazioni 21%", "Import VAT 21%"),
        PURCHASE,
        "21",
        purchase_account="vat_in",
        base_box="32",
        tax_box="33",
    ),
    # IRPF we withhold from professionals and pay to the tax office (modelo 111).
    TaxDefault(
        "IRPF15-C",
        (
            "Retención IRPF 15% (compras)",
            "Ritenuta IRPF 15% (acquisti)",
            "Income tax withholding (IRPF) 15% (purchases)",
        ),
        PURCHASE,
        "15",
        kind=WITHHOLDING,
        purchase_account="withholding_payable",
    ),
    TaxDefault(
        "IRPF7-C",
        (
            "Retención IRPF 7% (compras)",
            "Ritenuta IRPF 7% (acquisti)",
            "Income tax withholding (IRPF) 7% (purchases)",
        ),
        PURCHASE,
        "7",
        kind=WITHHOLDING,
        purchase_account="withholding_payable",
    ),
    # Reverse charge: self-assessed output VAT and deductible input VAT at once.
    TaxDefault(
        "AIB21-C",
        (
            "Adquisición intracomunitaria de bienes 21%",
            "Acquisto intracomunitario di beni 21%",
            "Intra-EU acquisition of goods 21%",
        ),
        PURCHASE,
        "21",
        category="K",
        reverse_charge=True,
        purchase_account="vat_in",
        reverse_charge_account="vat_out",
        base_box="10/36",
        tax_box="11/37",
    ),
    TaxDefault(
        "AIS21-C",
        (
            "Adquisición intracomunitaria de servicios 21%",
            "Acquisto intracomunitario di servizi 21%",
            "Intra-EU acquisition of services 21%",
        ),
        PURCHASE,
        "21",
        category="AE",
        reverse_charge=True,
        purchase_account="vat_in",
        reverse_charge_account="vat_out",
        base_box="10/36",
        tax_box="11/37",
    ),
    TaxDefault(
        "ISP21-C",
        (
            "Inversión del sujeto pasivo 21% (compras)",
            "Inversione contabile 21% (acquisti)",
            "Domestic reverse charge 21% (purchases)",
        ),
        PURCHASE,
        "21",
        category="AE",
        reverse_charge=True,
        purchase_account="vat_in",
        reverse_charge_account="vat_out",
        base_box="12/28",
        tax_box="13/29",
    ),
)

DPR = "DPR 633/72"
_NATURES: tuple[tuple[str, str, tuple[str, str, str], tuple[str, str, str], str], ...] = (
    # nature, EN 16931 category, names (es, it, en), legal mentions (es, it, en), LIPE base box
    (
        "N1",
        "O",
        ("Excluida art. 15", "Esclusa ex art. 15", "Excluded (art. 15)"),
        (
            f"Operación excluida, art. 15 {DPR}",
            f"Operazione esclusa ex art. 15 {DPR}",
            f"Excluded from the taxable amount, art. 15 {DPR}",
        ),
        "",
    ),
    (
        "N2.1",
        "O",
        (
            "No sujeta, arts. 7 a 7-septies",
            "Non soggetta artt. da 7 a 7-septies",
            "Not subject (arts. 7 to 7-septies)",
        ),
        (
            f"Operación no sujeta, arts. 7 a 7-septies {DPR}",
            f"Operazione non soggetta ad IVA ai sensi degli artt. da 7 a 7-septies {DPR}",
            f"Not subject to Italian VAT, arts. 7 to 7-septies {DPR}",
        ),
        "VP2",
    ),
    (
        "N2.2",
        "O",
        ("No sujeta, otros casos", "Non soggetta - altri casi", "Not subject (other cases)"),
        ("Operación no sujeta a IVA", "Operazione non soggetta ad IVA", "Not subject to VAT"),
        "VP2",
    ),
    (
        "N3.1",
        "G",
        ("No imponible - exportaciones", "Non imponibile - esportazioni", "Non-taxable - exports"),
        (
            f"Operación no imponible, art. 8 {DPR}",
            f"Operazione non imponibile art. 8 {DPR}",
            f"Non-taxable transaction, art. 8 {DPR}",
        ),
        "VP2",
    ),
    (
        "N3.2",
        "K",
        (
            "No imponible - entregas intracomunitarias",
            "Non imponibile - cessioni intracomunitarie",
            "Non-taxable - intra-EU supplies",
        ),
        (
            "Operación no imponible, art. 41 DL 331/93",
            "Operazione non imponibile art. 41 DL 331/93",
            "Non-taxable intra-Community supply, art. 41 DL 331/93",
        ),
        "VP2",
    ),
    (
        "N3.3",
        "G",
        (
            "No imponible - San Marino",
            "Non imponibile - cessioni verso San Marino",
            "Non-taxable - supplies to San Marino",
        ),
        (
            f"Operación no imponible, art. 71 {DPR}",
            f"Operazione non imponibile art. 71 {DPR}",
            f"Non-taxable transaction, art. 71 {DPR}",
        ),
        "VP2",
    ),
    (
        "N3.4",
        "Z",
        (
            "No imponible - asimiladas a exportaciones",
            "Non imponibile - operazioni assimilate alle cessioni all'esportazione",
            "Non-taxable - treated as exports",
        ),
        (
            f"Operación no imponible, art. 8-bis {DPR}",
            f"Operazione non imponibile art. 8-bis {DPR}",
            f"Non-taxable transaction, art. 8-bis {DPR}",
        ),
        "VP2",
    ),
    (
        "N3.5",
        "Z",
        (
            "No imponible - declaración de intención",
            "Non imponibile - a seguito di dichiarazioni d'intento",
            "Non-taxable - letter of intent",
        ),
        (
            f"Operación no imponible, art. 8 c. 1 lett. c) {DPR} (declaración de intención)",
            f"Operazione non imponibile art. 8 c. 1 lett. c) {DPR} (dichiarazione d'intento)",
            f"Non-taxable transaction, art. 8(1)(c) {DPR} (letter of intent)",
        ),
        "VP2",
    ),
    (
        "N3.6",
        "Z",
        (
            "No imponible - otras operaciones",
            "Non imponibile - altre operazioni",
            "Non-taxable - other transactions",
        ),
        (
            "Operación no imponible que no concurre a la formación del plafond",
            "Operazione non imponibile che non concorre alla formazione del plafond",
            "Non-taxable transaction not counting towards the plafond",
        ),
        "VP2",
    ),
    (
        "N4",
        "E",
        ("Exenta art. 10", "Esente art. 10", "Exempt (art. 10)"),
        (
            f"Operación exenta, art. 10 {DPR}",
            f"Operazione esente art. 10 {DPR}",
            f"Exempt transaction, art. 10 {DPR}",
        ),
        "VP2",
    ),
    (
        "N5",
        "E",
        ("Régimen del margen", "Regime del margine", "Margin scheme"),
        (
            "Régimen del margen, art. 36 DL 41/95",
            "Regime del margine art. 36 DL 41/95",
            "Margin scheme, art. 36 DL 41/95",
        ),
        "VP2",
    ),
    (
        "N6.1",
        "AE",
        (
            "Inversión del sujeto pasivo - chatarra",
            "Inversione contabile - rottami",
            "Reverse charge - scrap",
        ),
        (
            f"Inversión del sujeto pasivo, art. 74 c. 7 y 8 {DPR}",
            f"Inversione contabile art. 74 c. 7 e 8 {DPR}",
            f"Reverse charge, art. 74(7)-(8) {DPR}",
        ),
        "VP2",
    ),
    (
        "N6.2",
        "AE",
        (
            "Inversión del sujeto pasivo - oro y plata",
            "Inversione contabile - oro e argento",
            "Reverse charge - gold and silver",
        ),
        (
            f"Inversión del sujeto pasivo, art. 17 c. 5 {DPR}",
            f"Inversione contabile art. 17 c. 5 {DPR}",
            f"Reverse charge, art. 17(5) {DPR}",
        ),
        "VP2",
    ),
    (
        "N6.3",
        "AE",
        (
            "Inversión del sujeto pasivo - subcontratas de construcción",
            "Inversione contabile - subappalto nel settore edile",
            "Reverse charge - construction subcontracting",
        ),
        (
            f"Inversión del sujeto pasivo, art. 17 c. 6 lett. a) {DPR}",
            f"Inversione contabile art. 17 c. 6 lett. a) {DPR}",
            f"Reverse charge, art. 17(6)(a) {DPR}",
        ),
        "VP2",
    ),
    (
        "N6.4",
        "AE",
        (
            "Inversión del sujeto pasivo - edificios",
            "Inversione contabile - cessione di fabbricati",
            "Reverse charge - buildings",
        ),
        (
            f"Inversión del sujeto pasivo, art. 17 c. 6 lett. a-bis) {DPR}",
            f"Inversione contabile art. 17 c. 6 lett. a-bis) {DPR}",
            f"Reverse charge, art. 17(6)(a-bis) {DPR}",
        ),
        "VP2",
    ),
    (
        "N6.5",
        "AE",
        (
            "Inversión del sujeto pasivo - teléfonos móviles",
            "Inversione contabile - cessione di telefoni cellulari",
            "Reverse charge - mobile phones",
        ),
        (
            f"Inversión del sujeto pasivo, art. 17 c. 6 lett. b) {DPR}",
            f"Inversione contabile art. 17 c. 6 lett. b) {DPR}",
            f"Reverse charge, art. 17(6)(b) {DPR}",
        ),
        "VP2",
    ),
    (
        "N6.6",
        "AE",
        (
            "Inversión del sujeto pasivo - productos electrónicos",
            "Inversione contabile - cessione di prodotti elettronici",
            "Reverse charge - electronic products",
        ),
        (
            f"Inversión del sujeto pasivo, art. 17 c. 6 lett. c) {DPR}",
            f"Inversione contabile art. 17 c. 6 lett. c) {DPR}",
            f"Reverse charge, art. 17(6)(c) {DPR}",
        ),
        "VP2",
    ),
    (
        "N6.7",
        "AE",
        (
            "Inversión del sujeto pasivo - sector de la construcción",
            "Inversione contabile - prestazioni comparto edile e settori connessi",
            "Reverse charge - building sector services",
        ),
        (
            f"Inversión del sujeto pasivo, art. 17 c. 6 lett. a-ter) {DPR}",
            f"Inversione contabile art. 17 c. 6 lett. a-ter) {DPR}",
            f"Reverse charge, art. 17(6)(a-ter) {DPR}",
        ),
        "VP2",
    ),
    (
        "N6.8",
        "AE",
        (
            "Inversión del sujeto pasivo - sector energético",
            "Inversione contabile - operazioni settore energetico",
            "Reverse charge - energy sector",
        ),
        (
            f"Inversión del sujeto pasivo, art. 17 c. 6 lett. d-bis), d-ter) y d-quater) {DPR}",
            f"Inversione contabile art. 17 c. 6 lett. d-bis), d-ter) e d-quater) {DPR}",
            f"Reverse charge, art. 17(6)(d-bis)-(d-quater) {DPR}",
        ),
        "VP2",
    ),
    (
        "N6.9",
        "AE",
        (
            "Inversión del sujeto pasivo - otros casos",
            "Inversione contabile - altri casi",
            "Reverse charge - other cases",
        ),
        (
            f"Inversión del sujeto pasivo, art. 17 {DPR}",
            f"Inversione contabile art. 17 {DPR}",
            f"Reverse charge, art. 17 {DPR}",
        ),
        "VP2",
    ),
    (
        "N7",
        "O",
        (
            "IVA pagada en otro Estado UE",
            "IVA assolta in altro Stato UE",
            "VAT paid in another EU State",
        ),
        (
            "IVA pagada en otro Estado miembro (ventas a distancia, OSS)",
            "IVA assolta in altro Stato UE (vendite a distanza, OSS)",
            "VAT paid in another EU Member State (distance sales, OSS)",
        ),
        "VP2",
    ),
)

ITALY: tuple[TaxDefault, ...] = (
    # Sales: IVA a debito, LIPE lines VP2 (operazioni attive) and VP4 (IVA esigibile).
    _vat("IVA22-V", "22", SALE, ("VP2", "VP4")),
    _vat("IVA10-V", "10", SALE, ("VP2", "VP4")),
    _vat("IVA5-V", "5", SALE, ("VP2", "VP4")),
    _vat("IVA4-V", "4", SALE, ("VP2", "VP4")),
    *(
        TaxDefault(
            f"{nature}-V",
            (f"{nature} {names[0]}", f"{nature} {names[1]}", f"{nature} {names[2]}"),
            SALE,
            "0",
            category=category,
            nature=nature,
            sale_account="vat_out",
            base_box=box,
            mentions=mentions,
        )
        for nature, category, names, mentions, box in _NATURES
    ),
    # Split payment (public bodies): the customer pays the VAT to the State; not in VP4.
    TaxDefault(
        "SP22-V",
        ("IVA 22% escisión de pagos", "IVA 22% scissione dei pagamenti", "VAT 22% split payment"),
        SALE,
        "22",
        split_payment=True,
        sale_account="vat_out",
        base_box="VP2",
        mentions=(
            f"Escisión de pagos, art. 17-ter {DPR}",
            f"Scissione dei pagamenti art. 17-ter {DPR}",
            f"Split payment, art. 17-ter {DPR}",
        ),
    ),
    # Ritenuta d'acconto withheld by our customers on professional fees.
    TaxDefault(
        "RA20-V",
        ("Retención a cuenta 20%", "Ritenuta d'acconto 20%", "Withholding tax 20%"),
        SALE,
        "20",
        kind=WITHHOLDING,
        sale_account="withholding_suffered",
        mentions=(
            "Retención a cuenta, art. 25 DPR 600/73",
            "Ritenuta d'acconto art. 25 DPR 600/73",
            "Withholding tax on account, art. 25 DPR 600/73",
        ),
    ),
    # Purchases: IVA a credito, VP3 (operazioni passive) and VP5 (IVA detratta).
    _vat("IVA22-A", "22", PURCHASE, ("VP3", "VP5")),
    _vat("IVA10-A", "10", PURCHASE, ("VP3", "VP5")),
    _vat("IVA5-A", "5", PURCHASE, ("VP3", "VP5")),
    _vat("IVA4-A", "4", PURCHASE, ("VP3", "VP5")),
    TaxDefault(
        "N4-A",
        (
            "N4 Exenta art. 10 (compras)",
            "N4 Esente art. 10 (acquisti)",
            "N4 Exempt (art. 10) (purchases)",
        ),
        PURCHASE,
        "0",
        category="E",
        nature="N4",
        purchase_account="vat_in",
        base_box="VP3",
    ),
    TaxDefault(
        "N2.2-A",
        (
            "N2.2 No sujeta (compras)",
            "N2.2 Non soggetta (acquisti)",
            "N2.2 Not subject (purchases)",
        ),
        PURCHASE,
        "0",
        category="O",
        nature="N2.2",
        purchase_account="vat_in",
        base_box="VP3",
    ),
    TaxDefault(
        "RA20-A",
        (
            "Retención a cuenta 20% (compras)",
            "Ritenuta d'acconto 20% (acquisti)",
            "Withholding tax 20% (purchases)",
        ),
        PURCHASE,
        "20",
        kind=WITHHOLDING,
        purchase_account="withholding_payable",
    ),
    # Reverse charge: the VAT is integrated (VP4) and deducted (VP5).
    TaxDefault(
        "RC22-A",
        (
            "Inversión del sujeto pasivo 22% (compras)",
            "Inversione contabile 22% (acquisti)",
            "Domestic reverse charge 22% (purchases)",
        ),
        PURCHASE,
        "22",
        category="AE",
        reverse_charge=True,
        purchase_account="vat_in",
        reverse_charge_account="vat_out",
        base_box="VP3",
        tax_box="VP4/VP5",
        mentions=(
            f"Inversión del sujeto pasivo, art. 17 c. 6 {DPR}",
            f"Inversione contabile art. 17 c. 6 {DPR}",
            f"Reverse charge, art. 17(6) {DPR}",
        ),
    ),
    TaxDefault(
        "INTRA22-A",
        (
            "Adquisición intracomunitaria 22%",
            "Acquisto intracomunitario 22%",
            "Intra-EU acquisition 22%",
        ),
        PURCHASE,
        "22",
        category="K",
        reverse_charge=True,
        purchase_account="vat_in",
        reverse_charge_account="vat_out",
        base_box="VP3",
        tax_box="VP4/VP5",
        mentions=(
            "Adquisición intracomunitaria, arts. 46 y 47 DL 331/93",
            "Acquisto intracomunitario artt. 46-47 DL 331/93",
            "Intra-Community acquisition, arts. 46-47 DL 331/93",
        ),
    ),
)

GENERIC: tuple[TaxDefault, ...] = (
    TaxDefault(
        "VAT20-S",
        ("IVA 20% (ventas)", "IVA 20% (vendite)", "VAT 20% (sales)"),
        SALE,
        "20",
        sale_account="vat_out",
    ),
    TaxDefault(
        "VAT10-S",
        ("IVA reducido 10% (ventas)", "IVA ridotta 10% (vendite)", "Reduced VAT 10% (sales)"),
        SALE,
        "10",
        sale_account="vat_out",
    ),
    TaxDefault(
        "VAT0-S",
        ("IVA 0% (ventas)", "IVA 0% (vendite)", "Zero-rated VAT (sales)"),
        SALE,
        "0",
        category="Z",
        sale_account="vat_out",
    ),
    TaxDefault(
        "VAT20-P",
        ("IVA 20% (compras)", "IVA 20% (acquisti)", "VAT 20% (purchases)"),
        PURCHASE,
        "20",
        purchase_account="vat_in",
    ),
    TaxDefault(
        "VAT10-P",
        ("IVA reducido 10% (compras)", "IVA ridotta 10% (acquisti)", "Reduced VAT 10% (purchases)"),
        PURCHASE,
        "10",
        purchase_account="vat_in",
    ),
    TaxDefault(
        "VAT0-P",
        ("IVA 0% (compras)", "IVA 0% (acquisti)", "Zero-rated VAT (purchases)"),
        PURCHASE,
        "0",
        category="Z",
        purchase_account="vat_in",
    ),
)

TAXES: dict[str, tuple[TaxDefault, ...]] = {"ES": SPAIN, "IT": ITALY}

# --- payment terms and series -----------------------------------------------------------------

# code, name, days, end of month
PAYMENT_TERMS: tuple[tuple[str, Any, str, bool], ...] = (
    ("IMM", _("Immediate payment"), "0", False),
    ("30", _("30 days"), "30", False),
    ("60", _("60 days"), "60", False),
    ("30-60-90", _("30, 60 and 90 days"), "30/60/90", False),
    ("30EOM", _("30 days, end of month"), "30", True),
)

SERIES_CODES = {"ES": ("F", "R", "FS"), "IT": ("FT", "NC", "S")}
DEFAULT_SERIES_CODES = ("INV", "CN", "S")
SERIES_NAMES = (
    ("invoice", _("Invoices")),
    ("credit_note", _("Credit notes")),
    ("simplified", _("Simplified invoices")),
)
SALES_JOURNAL = "SAL"

# BillingSettings field -> account role
SETTINGS_ACCOUNTS = {
    "customer_account": "receivable",
    "supplier_account": "payable",
    "income_account": "income",
    "expense_account": "expense",
    "write_off_income_account": "write_off_income",
    "write_off_expense_account": "write_off_expense",
    "late_fee_account": "late_fee",
}


def taxes_for(country: str) -> tuple[TaxDefault, ...]:
    """The default taxes of ``country`` (a generic VAT set for countries without their own)."""
    return TAXES.get(country, GENERIC)


def chart_template(country: str) -> str:
    return CHART_BY_COUNTRY.get(country, DEFAULT_CHART)


def _known(model: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the fields ``model`` does not have (a historical model in a
    migration may predate some)."""
    names = {f.name for f in model._meta.get_fields() if getattr(f, "concrete", False)}
    return {k: v for k, v in values.items() if k in names}


def defaults_apply(apps: Any, company: Any) -> dict[str, int]:
    """Create what ``company`` lacks, through the models of the registry ``apps``; returns
    how many records of each kind were created (``taxes``, ``terms``, ``series``,
    ``settings``)."""
    account_model = apps.get_model("ledger", "Account")
    journal_model = apps.get_model("ledger", "Journal")
    tax_model = apps.get_model("billing", "Tax")
    term_model = apps.get_model("billing", "PaymentTerm")
    series_model = apps.get_model("billing", "InvoiceSeries")
    settings_model = apps.get_model("billing", "BillingSettings")
    created = {"taxes": 0, "terms": 0, "series": 0, "settings": 0}

    codes = CHART_ACCOUNTS[chart_template(company.country)]
    found = {
        a.code: a
        for a in account_model.objects.filter(
            company_id=company.pk, code__in=set(codes.values()), postable=True
        )
    }
    accounts = {role: found.get(code) for role, code in codes.items()}

    for default in taxes_for(company.country):
        _obj, made = tax_model.objects.get_or_create(
            company_id=company.pk,
            code=default.code,
            defaults=_known(tax_model, default.values(accounts)),
        )
        created["taxes"] += made

    with override(company.language or "en"):
        for code, name, days, end_of_month in PAYMENT_TERMS:
            _obj, made = term_model.objects.get_or_create(
                company_id=company.pk,
                code=code,
                defaults=_known(
                    term_model, {"name": str(name), "days": days, "end_of_month": end_of_month}
                ),
            )
            created["terms"] += made
        journal = journal_model.objects.filter(company_id=company.pk, code=SALES_JOURNAL).first()
        if journal is not None:
            series_codes = SERIES_CODES.get(company.country, DEFAULT_SERIES_CODES)
            for code, (kind, name) in zip(series_codes, SERIES_NAMES, strict=True):
                _obj, made = series_model.objects.get_or_create(
                    company_id=company.pk,
                    code=code,
                    defaults=_known(
                        series_model,
                        {
                            "name": str(name),
                            "kind": kind,
                            "number_format": f"{code}{{year}}-{{number:05d}}",
                            "journal": journal,
                        },
                    ),
                )
                created["series"] += made

    settings, made = settings_model.objects.get_or_create(company_id=company.pk)
    created["settings"] += made
    changed = []
    for field, role in SETTINGS_ACCOUNTS.items():
        if not hasattr(settings, f"{field}_id"):
            continue
        if getattr(settings, f"{field}_id") is None and accounts.get(role) is not None:
            setattr(settings, field, accounts[role])
            changed.append(field)
    rate = LATE_INTEREST_RATE.get(company.country)
    if (
        rate is not None
        and hasattr(settings, "late_interest_rate")
        and not settings.late_interest_rate
    ):
        settings.late_interest_rate = rate
        changed.append("late_interest_rate")
    if changed:
        settings.save(update_fields=changed)
    return created


def billing_defaults_load(*, company: Company) -> dict[str, int]:
    """Taxes, payment terms, series and settings for ``company`` (idempotent); returns the
    number of records created of each kind."""
    return defaults_apply(global_apps, company)

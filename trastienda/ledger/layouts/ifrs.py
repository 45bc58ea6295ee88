"""Generic IFRS-style statements (IAS 1 captions): the statement of financial position and the
statement of profit or loss by function of expense, mapped to the accounts of our ``ifrs``
chart (1 assets, 2 liabilities, 3 equity, 4 revenue and other income, 5 cost of sales,
6 operating expenses, 7 finance income and costs, 8 income tax).

Expenses are shown as negative amounts, so that every subtotal is the plain sum of the lines
above it. Balances placed by their sign: a bank account in credit is a short-term borrowing,
customers in credit are trade payables (customer advances), suppliers in debit are other
receivables.
"""

from __future__ import annotations

from trastienda.ledger.layouts import Layout, line, statement

ASSETS = line(
    "ASSETS",
    "ACTIVO",
    "ATTIVITÀ",
    "ASSETS",
    sign=1,
    heading=True,
    children=(
        line(
            "NCA",
            "Activo no corriente",
            "Attività non correnti",
            "Non-current assets",
            children=(
                line(
                    "NCA.PPE",
                    "Inmovilizado material",
                    "Immobili, impianti e macchinari",
                    "Property, plant and equipment",
                    accounts="1101, 1102, 1103, 1104, 1105, (1110)",
                ),
                line(
                    "NCA.ROU",
                    "Activos por derecho de uso",
                    "Attività per diritto d'uso",
                    "Right-of-use assets",
                    accounts="1106",
                ),
                line(
                    "NCA.GW",
                    "Fondo de comercio",
                    "Avviamento",
                    "Goodwill",
                    accounts="1108",
                ),
                line(
                    "NCA.INT",
                    "Activos intangibles",
                    "Attività immateriali",
                    "Intangible assets",
                    accounts="1107, (1111)",
                ),
                line(
                    "NCA.FIN",
                    "Activos financieros no corrientes",
                    "Attività finanziarie non correnti",
                    "Non-current financial assets",
                    accounts="1120",
                ),
                line(
                    "NCA.DTA",
                    "Activos por impuesto diferido",
                    "Attività per imposte anticipate",
                    "Deferred tax assets",
                    accounts="1130",
                ),
            ),
        ),
        line(
            "CA",
            "Activo corriente",
            "Attività correnti",
            "Current assets",
            children=(
                line(
                    "CA.INV",
                    "Existencias",
                    "Rimanenze",
                    "Inventories",
                    accounts="120",
                ),
                line(
                    "CA.TR",
                    "Deudores comerciales y otras cuentas a cobrar",
                    "Crediti commerciali e altri crediti",
                    "Trade and other receivables",
                    accounts="1210+, (1211), 1212+, 1220, 2201+, 2202+",
                ),
                line(
                    "CA.TAX",
                    "Activos por impuesto corriente",
                    "Attività per imposte correnti",
                    "Current tax assets",
                    accounts="1221",
                ),
                line(
                    "CA.OTH",
                    "Otros activos corrientes",
                    "Altre attività correnti",
                    "Other current assets",
                    accounts="1230",
                ),
                line(
                    "CA.FIN",
                    "Otros activos financieros corrientes",
                    "Altre attività finanziarie correnti",
                    "Other current financial assets",
                    accounts="1240",
                ),
                line(
                    "CA.CASH",
                    "Efectivo y equivalentes al efectivo",
                    "Disponibilità liquide e mezzi equivalenti",
                    "Cash and cash equivalents",
                    accounts="1250, 1251+",
                ),
            ),
        ),
        line(
            "ASSETS.UNMAPPED",
            "Cuentas de activo sin línea",
            "Conti dell'attivo senza voce",
            "Unmapped accounts",
            unmapped=True,
        ),
    ),
)

EQUITY_AND_LIABILITIES = line(
    "EL",
    "PATRIMONIO NETO Y PASIVO",
    "PATRIMONIO NETTO E PASSIVITÀ",
    "EQUITY AND LIABILITIES",
    sign=-1,
    heading=True,
    children=(
        line(
            "EQ",
            "Patrimonio neto",
            "Patrimonio netto",
            "Equity",
            children=(
                line(
                    "EQ.CAP",
                    "Capital social",
                    "Capitale sociale",
                    "Share capital",
                    accounts="3101",
                ),
                line(
                    "EQ.PREM",
                    "Prima de emisión",
                    "Riserva da soprapprezzo delle azioni",
                    "Share premium",
                    accounts="3102",
                ),
                line(
                    "EQ.RES",
                    "Reservas",
                    "Riserve",
                    "Reserves",
                    accounts="3103, 3104",
                ),
                line(
                    "EQ.TREAS",
                    "Acciones propias",
                    "Azioni proprie",
                    "Treasury shares",
                    accounts="(3106)",
                ),
                line(
                    "EQ.RE",
                    "Resultados acumulados",
                    "Utili portati a nuovo",
                    "Retained earnings",
                    accounts="3201",
                    result="prior",
                ),
                line(
                    "EQ.PY",
                    "Resultado del ejercicio",
                    "Utile (perdita) dell'esercizio",
                    "Profit (loss) for the year",
                    accounts="3202",
                    result="year",
                ),
            ),
        ),
        line(
            "NCL",
            "Pasivo no corriente",
            "Passività non correnti",
            "Non-current liabilities",
            children=(
                line(
                    "NCL.BOR",
                    "Préstamos y créditos",
                    "Finanziamenti",
                    "Borrowings",
                    accounts="2101",
                ),
                line(
                    "NCL.LEASE",
                    "Pasivos por arrendamiento",
                    "Passività per leasing",
                    "Lease liabilities",
                    accounts="2102",
                ),
                line(
                    "NCL.PROV",
                    "Provisiones",
                    "Fondi",
                    "Provisions",
                    accounts="2103",
                ),
                line(
                    "NCL.DTL",
                    "Pasivos por impuesto diferido",
                    "Passività per imposte differite",
                    "Deferred tax liabilities",
                    accounts="2105",
                ),
            ),
        ),
        line(
            "CL",
            "Pasivo corriente",
            "Passività correnti",
            "Current liabilities",
            children=(
                line(
                    "CL.TP",
                    "Acreedores comerciales y otras cuentas a pagar",
                    "Debiti commerciali e altri debiti",
                    "Trade and other payables",
                    accounts="2201, 2202, 2203, 2204, 2220, 2221, 1210-, 1212-",
                ),
                line(
                    "CL.BOR",
                    "Préstamos y créditos a corto plazo",
                    "Finanziamenti a breve termine",
                    "Short-term borrowings",
                    accounts="2230, 1251-",
                ),
                line(
                    "CL.TAX",
                    "Pasivos por impuesto corriente",
                    "Passività per imposte correnti",
                    "Current tax liabilities",
                    accounts="2213",
                ),
                line(
                    "CL.OTH",
                    "Otros pasivos corrientes",
                    "Altre passività correnti",
                    "Other current liabilities",
                    accounts="2210, 2211, 2212",
                ),
            ),
        ),
        line(
            "EL.UNMAPPED",
            "Cuentas de patrimonio neto y pasivo sin línea",
            "Conti del patrimonio netto e delle passività senza voce",
            "Unmapped accounts",
            unmapped=True,
        ),
    ),
)

BALANCE_SHEET = statement(
    "balance_sheet",
    (
        ASSETS,
        line(
            "TOTAL.ASSETS",
            "Total activo",
            "Totale attività",
            "Total assets",
            sign=1,
            total_of=("ASSETS",),
            strong=True,
        ),
        EQUITY_AND_LIABILITIES,
        line(
            "TOTAL.EL",
            "Total patrimonio neto y pasivo",
            "Totale patrimonio netto e passività",
            "Total equity and liabilities",
            sign=-1,
            total_of=("EL",),
            strong=True,
        ),
    ),
    check=("TOTAL.ASSETS", "TOTAL.EL"),
)

PROFIT_AND_LOSS = statement(
    "profit_and_loss",
    (
        line(
            "REV",
            "Ingresos ordinarios",
            "Ricavi",
            "Revenue",
            sign=-1,
            accounts="41",
        ),
        line(
            "COS",
            "Coste de las ventas",
            "Costo del venduto",
            "Cost of sales",
            sign=-1,
            accounts="(51)",
        ),
        line(
            "GP",
            "Margen bruto",
            "Margine lordo",
            "Gross profit",
            sign=-1,
            total_of=("REV", "COS"),
            strong=True,
        ),
        line(
            "OPEX",
            "Otros ingresos y gastos de explotación",
            "Altri proventi e costi operativi",
            "Other operating income and expenses",
            sign=-1,
            heading=True,
            children=(
                line(
                    "OI",
                    "Otros ingresos",
                    "Altri proventi",
                    "Other income",
                    accounts="42",
                ),
                line(
                    "EMP",
                    "Gastos por prestaciones a los empleados",
                    "Costi per benefici ai dipendenti",
                    "Employee benefits expense",
                    accounts="(61)",
                ),
                line(
                    "DEP",
                    "Amortizaciones",
                    "Ammortamenti",
                    "Depreciation and amortisation",
                    accounts="(63)",
                ),
                line(
                    "OOE",
                    "Otros gastos de explotación",
                    "Altri costi operativi",
                    "Other operating expenses",
                    accounts="(62)",
                ),
            ),
        ),
        line(
            "OP",
            "Resultado de explotación",
            "Risultato operativo",
            "Operating profit",
            sign=-1,
            total_of=("GP", "OPEX"),
            strong=True,
        ),
        line(
            "FIN",
            "Resultado financiero",
            "Gestione finanziaria",
            "Finance income and costs",
            sign=-1,
            heading=True,
            children=(
                line(
                    "FI",
                    "Ingresos financieros",
                    "Proventi finanziari",
                    "Finance income",
                    accounts="71",
                ),
                line(
                    "FC",
                    "Gastos financieros",
                    "Oneri finanziari",
                    "Finance costs",
                    accounts="(72)",
                ),
            ),
        ),
        line(
            "PL.UNMAPPED",
            "Cuentas de ingresos y gastos sin línea",
            "Conti di ricavi e costi senza voce",
            "Unmapped accounts",
            sign=-1,
            unmapped=True,
        ),
        line(
            "PBT",
            "Resultado antes de impuestos",
            "Risultato prima delle imposte",
            "Profit before tax",
            sign=-1,
            total_of=("OP", "FIN", "PL.UNMAPPED"),
            strong=True,
        ),
        line(
            "TAX",
            "Gasto por impuesto sobre beneficios",
            "Imposte sul reddito",
            "Income tax expense",
            sign=-1,
            accounts="(8)",
        ),
        line(
            "PY",
            "Resultado del ejercicio",
            "Utile (perdita) dell'esercizio",
            "Profit (loss) for the year",
            sign=-1,
            total_of=("PBT", "TAX"),
            strong=True,
        ),
    ),
)

LAYOUT = Layout(
    code="ifrs",
    es="NIIF (genérico)",
    it="IFRS (generico)",
    en="IFRS (generic)",
    chart="ifrs",
    balance_sheet=BALANCE_SHEET,
    profit_and_loss=PROFIT_AND_LOSS,
)

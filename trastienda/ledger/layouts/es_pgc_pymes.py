"""Spain, Plan General de Contabilidad de PYMES (Real Decreto 1515/2007, tercera parte, as
amended by Real Decreto 1159/2010 and Real Decreto 602/2016): the "Balance PYMES" and the
"Cuenta de pérdidas y ganancias PYMES", with the account references the official models print
beside each line, applied to the accounts of our ``es_pgc_pymes`` chart.

Where our chart keeps a 3-digit account whose official reference is a 4-digit sub-account
(e.g. 160 for 1605, 510 for 5105, 104 for 1040, 693 for 6931, 795 for 7951-7956) the 3-digit
account feeds the line of its most common sub-account; the official 4-digit prefixes are kept
too, so a company that opens those sub-accounts gets the official split. Balances placed by
their sign (not in the official references, customary reclassifications): banks in credit
(572-575) are debts with credit institutions; customers and debtors in credit are other
creditors; suppliers and creditors in debit are other debtors; the current accounts 550-552
are short-term investments in debit and short-term debts in credit (as the official text
lists 551 and 5525 on both sides).
"""

from __future__ import annotations

from trastienda.ledger.layouts import Layout, line, statement

ACTIVO = line(
    "ASSETS",
    "ACTIVO",
    "ATTIVO",
    "ASSETS",
    sign=1,
    heading=True,
    children=(
        line(
            "A",
            "A) ACTIVO NO CORRIENTE",
            "A) ATTIVO NON CORRENTE",
            "A) NON-CURRENT ASSETS",
            children=(
                line(
                    "A.I",
                    "I. Inmovilizado intangible",
                    "I. Immobilizzazioni immateriali",
                    "I. Intangible assets",
                    accounts="20, (280), (290)",
                ),
                line(
                    "A.II",
                    "II. Inmovilizado material",
                    "II. Immobilizzazioni materiali",
                    "II. Property, plant and equipment",
                    accounts="21, 23, (281), (291)",
                ),
                line(
                    "A.III",
                    "III. Inversiones inmobiliarias",
                    "III. Investimenti immobiliari",
                    "III. Investment property",
                    accounts="22, (282), (292)",
                ),
                line(
                    "A.IV",
                    "IV. Inversiones en empresas del grupo y asociadas a largo plazo",
                    "IV. Investimenti a lungo termine in imprese del gruppo e collegate",
                    "IV. Long-term investments in group companies and associates",
                    accounts="240, 241, 242, 2403, 2404, 2413, 2414, 2423, 2424, (249), (293)",
                ),
                line(
                    "A.V",
                    "V. Inversiones financieras a largo plazo",
                    "V. Investimenti finanziari a lungo termine",
                    "V. Long-term financial investments",
                    accounts="2405, 2415, 2425, (2495), 250, 251, 252, 253, 254, 255, 258, "
                    "(259), 26, (297), (298)",
                ),
                line(
                    "A.VI",
                    "VI. Activos por impuesto diferido",
                    "VI. Attività per imposte anticipate",
                    "VI. Deferred tax assets",
                    accounts="474",
                ),
                line(
                    "A.VII",
                    "VII. Deudores comerciales no corrientes",
                    "VII. Crediti commerciali non correnti",
                    "VII. Non-current trade receivables",
                ),
            ),
        ),
        line(
            "B",
            "B) ACTIVO CORRIENTE",
            "B) ATTIVO CORRENTE",
            "B) CURRENT ASSETS",
            children=(
                line(
                    "B.I",
                    "I. Activos no corrientes mantenidos para la venta",
                    "I. Attività non correnti possedute per la vendita",
                    "I. Non-current assets held for sale",
                    accounts="580, 581, 582, 583, 584, (599)",
                ),
                line(
                    "B.II",
                    "II. Existencias",
                    "II. Rimanenze",
                    "II. Inventories",
                    accounts="30, 31, 32, 33, 34, 35, 36, (39), 407",
                ),
                line(
                    "B.III",
                    "III. Deudores comerciales y otras cuentas a cobrar",
                    "III. Crediti commerciali e altri crediti",
                    "III. Trade and other receivables",
                    children=(
                        line(
                            "B.III.1",
                            "1. Clientes por ventas y prestaciones de servicios",
                            "1. Crediti verso clienti per vendite e prestazioni di servizi",
                            "1. Trade receivables from sales and services",
                            accounts="430+, 431+, 432+, 435+, 436+, (437), (490), (493)",
                        ),
                        line(
                            "B.III.2",
                            "2. Accionistas (socios) por desembolsos exigidos",
                            "2. Crediti verso soci per versamenti richiesti",
                            "2. Shareholders, called-up capital",
                            accounts="558",
                        ),
                        line(
                            "B.III.3",
                            "3. Otros deudores",
                            "3. Altri crediti",
                            "3. Other receivables",
                            accounts="44+, 460, 470, 471, 472, 473, 544, "
                            "400+, 401+, 403+, 404+, 405+, 41+",
                        ),
                    ),
                ),
                line(
                    "B.IV",
                    "IV. Inversiones en empresas del grupo y asociadas a corto plazo",
                    "IV. Investimenti a breve termine in imprese del gruppo e collegate",
                    "IV. Short-term investments in group companies and associates",
                    accounts="530, 532, 5303, 5304, 5313, 5314, 5323, 5324, 5523+, 5524+, (593)",
                ),
                line(
                    "B.V",
                    "V. Inversiones financieras a corto plazo",
                    "V. Investimenti finanziari a breve termine",
                    "V. Short-term financial investments",
                    accounts="540, 541, 542, 543, 545, 546, 547, 548, (549), 550+, 551+, 552+, "
                    "565, 566, (597), (598)",
                ),
                line(
                    "B.VI",
                    "VI. Periodificaciones a corto plazo",
                    "VI. Ratei e risconti attivi",
                    "VI. Short-term accruals",
                    accounts="480, 567",
                ),
                line(
                    "B.VII",
                    "VII. Efectivo y otros activos líquidos equivalentes",
                    "VII. Disponibilità liquide",
                    "VII. Cash and cash equivalents",
                    accounts="57",
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

PASIVO = line(
    "LIABILITIES",
    "PATRIMONIO NETO Y PASIVO",
    "PATRIMONIO NETTO E PASSIVO",
    "EQUITY AND LIABILITIES",
    sign=-1,
    heading=True,
    children=(
        line(
            "PN",
            "A) PATRIMONIO NETO",
            "A) PATRIMONIO NETTO",
            "A) EQUITY",
            children=(
                line(
                    "PN.A1",
                    "A-1) Fondos propios",
                    "A-1) Fondi propri",
                    "A-1) Shareholders' funds",
                    children=(
                        line(
                            "PN.A1.I",
                            "I. Capital",
                            "I. Capitale",
                            "I. Capital",
                            children=(
                                line(
                                    "PN.A1.I.1",
                                    "1. Capital escriturado",
                                    "1. Capitale sottoscritto",
                                    "1. Registered capital",
                                    accounts="100, 101, 102",
                                ),
                                line(
                                    "PN.A1.I.2",
                                    "2. (Capital no exigido)",
                                    "2. (Capitale non richiamato)",
                                    "2. (Uncalled capital)",
                                    accounts="(1030), (1040), (104)",
                                ),
                            ),
                        ),
                        line(
                            "PN.A1.II",
                            "II. Prima de emisión",
                            "II. Riserva da soprapprezzo delle azioni",
                            "II. Share premium",
                            accounts="110",
                        ),
                        line(
                            "PN.A1.III",
                            "III. Reservas",
                            "III. Riserve",
                            "III. Reserves",
                            accounts="112, 113, 114, 115, 119",
                        ),
                        line(
                            "PN.A1.IV",
                            "IV. (Acciones y participaciones en patrimonio propias)",
                            "IV. (Azioni e quote proprie)",
                            "IV. (Own shares and equity holdings)",
                            accounts="(108), (109)",
                        ),
                        line(
                            "PN.A1.V",
                            "V. Resultados de ejercicios anteriores",
                            "V. Utili (perdite) portati a nuovo",
                            "V. Results of prior years",
                            accounts="120, (121)",
                            result="prior",
                        ),
                        line(
                            "PN.A1.VI",
                            "VI. Otras aportaciones de socios",
                            "VI. Altri versamenti dei soci",
                            "VI. Other contributions from shareholders",
                            accounts="118",
                        ),
                        line(
                            "PN.A1.VII",
                            "VII. Resultado del ejercicio",
                            "VII. Utile (perdita) dell'esercizio",
                            "VII. Profit (loss) for the year",
                            accounts="129",
                            result="year",
                        ),
                        line(
                            "PN.A1.VIII",
                            "VIII. (Dividendo a cuenta)",
                            "VIII. (Acconto sui dividendi)",
                            "VIII. (Interim dividend)",
                            accounts="(557)",
                        ),
                    ),
                ),
                line(
                    "PN.A2",
                    "A-2) Ajustes en patrimonio neto",
                    "A-2) Rettifiche di patrimonio netto",
                    "A-2) Equity adjustments",
                    accounts="133, 1340, 137",
                ),
                line(
                    "PN.A3",
                    "A-3) Subvenciones, donaciones y legados recibidos",
                    "A-3) Contributi, donazioni e lasciti ricevuti",
                    "A-3) Grants, donations and bequests received",
                    accounts="130, 131, 132",
                ),
            ),
        ),
        line(
            "PNC",
            "B) PASIVO NO CORRIENTE",
            "B) PASSIVITÀ NON CORRENTI",
            "B) NON-CURRENT LIABILITIES",
            children=(
                line(
                    "PNC.I",
                    "I. Provisiones a largo plazo",
                    "I. Fondi per rischi e oneri a lungo termine",
                    "I. Long-term provisions",
                    accounts="14",
                ),
                line(
                    "PNC.II",
                    "II. Deudas a largo plazo",
                    "II. Debiti a lungo termine",
                    "II. Long-term debts",
                    children=(
                        line(
                            "PNC.II.1",
                            "1. Deudas con entidades de crédito",
                            "1. Debiti verso banche",
                            "1. Bank borrowings",
                            accounts="1605, 160, 170",
                        ),
                        line(
                            "PNC.II.2",
                            "2. Acreedores por arrendamiento financiero",
                            "2. Debiti per leasing finanziario",
                            "2. Finance lease creditors",
                            accounts="1625, 162, 174",
                        ),
                        line(
                            "PNC.II.3",
                            "3. Otras deudas a largo plazo",
                            "3. Altri debiti a lungo termine",
                            "3. Other long-term debts",
                            accounts="1615, 1635, 161, 163, 171, 172, 173, 175, 176, 177, 179, "
                            "180, 185, 189",
                        ),
                    ),
                ),
                line(
                    "PNC.III",
                    "III. Deudas con empresas del grupo y asociadas a largo plazo",
                    "III. Debiti a lungo termine verso imprese del gruppo e collegate",
                    "III. Long-term debts with group companies and associates",
                    accounts="1603, 1604, 1613, 1614, 1623, 1624, 1633, 1634",
                ),
                line(
                    "PNC.IV",
                    "IV. Pasivos por impuesto diferido",
                    "IV. Passività per imposte differite",
                    "IV. Deferred tax liabilities",
                    accounts="479",
                ),
                line(
                    "PNC.V",
                    "V. Periodificaciones a largo plazo",
                    "V. Ratei e risconti passivi a lungo termine",
                    "V. Long-term accruals",
                    accounts="181",
                ),
                line(
                    "PNC.VI",
                    "VI. Acreedores comerciales no corrientes",
                    "VI. Debiti commerciali non correnti",
                    "VI. Non-current trade payables",
                ),
                line(
                    "PNC.VII",
                    "VII. Deuda con características especiales a largo plazo",
                    "VII. Debiti a lungo termine con caratteristiche speciali",
                    "VII. Long-term debts with special characteristics",
                    accounts="15",
                ),
            ),
        ),
        line(
            "PC",
            "C) PASIVO CORRIENTE",
            "C) PASSIVITÀ CORRENTI",
            "C) CURRENT LIABILITIES",
            children=(
                line(
                    "PC.I",
                    "I. Pasivos vinculados con activos no corrientes mantenidos para la venta",
                    "I. Passività associate ad attività non correnti possedute per la vendita",
                    "I. Liabilities associated with non-current assets held for sale",
                    accounts="585, 586, 587, 588, 589",
                ),
                line(
                    "PC.II",
                    "II. Provisiones a corto plazo",
                    "II. Fondi per rischi e oneri a breve termine",
                    "II. Short-term provisions",
                    accounts="499, 529",
                ),
                line(
                    "PC.III",
                    "III. Deudas a corto plazo",
                    "III. Debiti a breve termine",
                    "III. Short-term debts",
                    children=(
                        line(
                            "PC.III.1",
                            "1. Deudas con entidades de crédito",
                            "1. Debiti verso banche",
                            "1. Bank borrowings",
                            accounts="5105, 510, 520, 527, 572-, 573-, 574-, 575-",
                        ),
                        line(
                            "PC.III.2",
                            "2. Acreedores por arrendamiento financiero",
                            "2. Debiti per leasing finanziario",
                            "2. Finance lease creditors",
                            accounts="5125, 524",
                        ),
                        line(
                            "PC.III.3",
                            "3. Otras deudas a corto plazo",
                            "3. Altri debiti a breve termine",
                            "3. Other short-term debts",
                            accounts="(1034), (1044), 194, 500, 505, 506, 509, 5115, 5135, 5145, "
                            "513, 521, 522, 523, 525, 526, 528, 550-, 551-, 552-, 555, 556, "
                            "560, 561, 569",
                        ),
                    ),
                ),
                line(
                    "PC.IV",
                    "IV. Deudas con empresas del grupo y asociadas a corto plazo",
                    "IV. Debiti a breve termine verso imprese del gruppo e collegate",
                    "IV. Short-term debts with group companies and associates",
                    accounts="5103, 5104, 5113, 5114, 5123, 5124, 5133, 5134, 5143, 5144, "
                    "5523-, 5524-, 5563, 5564",
                ),
                line(
                    "PC.V",
                    "V. Acreedores comerciales y otras cuentas a pagar",
                    "V. Debiti commerciali e altri debiti",
                    "V. Trade and other payables",
                    children=(
                        line(
                            "PC.V.1",
                            "1. Proveedores",
                            "1. Debiti verso fornitori",
                            "1. Suppliers",
                            accounts="400, 401, 403, 404, 405, (406)",
                        ),
                        line(
                            "PC.V.2",
                            "2. Otros acreedores",
                            "2. Altri debiti",
                            "2. Other payables",
                            accounts="41, 438, 465, 466, 475, 476, 477, "
                            "430-, 431-, 432-, 435-, 436-, 44-",
                        ),
                    ),
                ),
                line(
                    "PC.VI",
                    "VI. Periodificaciones a corto plazo",
                    "VI. Ratei e risconti passivi",
                    "VI. Short-term accruals",
                    accounts="485, 568",
                ),
                line(
                    "PC.VII",
                    "VII. Deuda con características especiales a corto plazo",
                    "VII. Debiti a breve termine con caratteristiche speciali",
                    "VII. Short-term debts with special characteristics",
                    accounts="502, 507",
                ),
            ),
        ),
        line(
            "LIABILITIES.UNMAPPED",
            "Cuentas de patrimonio neto y pasivo sin línea",
            "Conti del patrimonio netto e del passivo senza voce",
            "Unmapped accounts",
            unmapped=True,
        ),
    ),
)

BALANCE_SHEET = statement(
    "balance_sheet",
    (
        ACTIVO,
        line(
            "TOTAL.ASSETS",
            "TOTAL ACTIVO (A + B)",
            "TOTALE ATTIVO (A + B)",
            "TOTAL ASSETS (A + B)",
            sign=1,
            total_of=("ASSETS",),
            strong=True,
        ),
        PASIVO,
        line(
            "TOTAL.LIABILITIES",
            "TOTAL PATRIMONIO NETO Y PASIVO (A + B + C)",
            "TOTALE PATRIMONIO NETTO E PASSIVO (A + B + C)",
            "TOTAL EQUITY AND LIABILITIES (A + B + C)",
            sign=-1,
            total_of=("LIABILITIES",),
            strong=True,
        ),
    ),
    check=("TOTAL.ASSETS", "TOTAL.LIABILITIES"),
)


PROFIT_AND_LOSS = statement(
    "profit_and_loss",
    (
        line(
            "OPERATING",
            "OPERACIONES CONTINUADAS",
            "ATTIVITÀ CONTINUATIVE",
            "CONTINUING OPERATIONS",
            sign=-1,
            heading=True,
            children=(
                line(
                    "1",
                    "1. Importe neto de la cifra de negocios",
                    "1. Ricavi netti delle vendite e delle prestazioni",
                    "1. Revenue",
                    accounts="700, 701, 702, 703, 704, 705, (706), (708), (709)",
                ),
                line(
                    "2",
                    "2. Variación de existencias de productos terminados y en curso de fabricación",
                    "2. Variazione delle rimanenze di prodotti finiti e in corso di lavorazione",
                    "2. Changes in inventories of finished goods and work in progress",
                    accounts="(6930), 71, 7930",
                ),
                line(
                    "3",
                    "3. Trabajos realizados por la empresa para su activo",
                    "3. Incrementi di immobilizzazioni per lavori interni",
                    "3. Work performed by the company for its own assets",
                    accounts="73",
                ),
                line(
                    "4",
                    "4. Aprovisionamientos",
                    "4. Costi per materie prime, sussidiarie, di consumo e merci",
                    "4. Supplies",
                    accounts="(600), (601), (602), 606, (607), 608, 609, 61, "
                    "(693), (6931), (6932), (6933), 793, 7931, 7932, 7933",
                ),
                line(
                    "5",
                    "5. Otros ingresos de explotación",
                    "5. Altri ricavi e proventi di gestione",
                    "5. Other operating income",
                    accounts="740, 747, 75",
                ),
                line(
                    "6",
                    "6. Gastos de personal",
                    "6. Costi per il personale",
                    "6. Staff costs",
                    accounts="(64)",
                ),
                line(
                    "7",
                    "7. Otros gastos de explotación",
                    "7. Altri costi di gestione",
                    "7. Other operating expenses",
                    accounts="(62), (631), (634), 636, 639, (65), (694), (695), 794, 7954",
                ),
                line(
                    "8",
                    "8. Amortización del inmovilizado",
                    "8. Ammortamento delle immobilizzazioni",
                    "8. Depreciation and amortisation",
                    accounts="(68)",
                ),
                line(
                    "9",
                    "9. Imputación de subvenciones de inmovilizado no financiero y otras",
                    "9. Contributi su immobilizzazioni non finanziarie e altri imputati "
                    "all'esercizio",
                    "9. Non-financial capital grants and others taken to income",
                    accounts="746",
                ),
                line(
                    "10",
                    "10. Excesos de provisiones",
                    "10. Eccedenze di fondi",
                    "10. Excess provisions",
                    accounts="795, 7951, 7952, 7955, 7956",
                ),
                line(
                    "11",
                    "11. Deterioro y resultado por enajenaciones del inmovilizado",
                    "11. Svalutazioni e risultato da alienazioni di immobilizzazioni",
                    "11. Impairment and gains or losses on disposal of fixed assets",
                    accounts="(670), (671), (672), (690), (691), (692), 770, 771, 772, "
                    "790, 791, 792",
                ),
                line(
                    "12",
                    "12. Otros resultados",
                    "12. Altri risultati",
                    "12. Other results",
                    accounts="(678), 778",
                ),
            ),
        ),
        line(
            "A",
            "A) RESULTADO DE EXPLOTACIÓN (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12)",
            "A) RISULTATO OPERATIVO (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12)",
            "A) OPERATING RESULT (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12)",
            sign=-1,
            total_of=("OPERATING",),
            strong=True,
        ),
        line(
            "FINANCIAL",
            "RESULTADO FINANCIERO",
            "GESTIONE FINANZIARIA",
            "FINANCIAL RESULT",
            sign=-1,
            heading=True,
            children=(
                line(
                    "13",
                    "13. Ingresos financieros",
                    "13. Proventi finanziari",
                    "13. Finance income",
                    accounts="760, 761, 762, 767, 769",
                ),
                line(
                    "14",
                    "14. Gastos financieros",
                    "14. Oneri finanziari",
                    "14. Finance costs",
                    accounts="(660), (661), (662), (664), (665), (669)",
                ),
                line(
                    "15",
                    "15. Variación de valor razonable en instrumentos financieros",
                    "15. Variazione di fair value degli strumenti finanziari",
                    "15. Change in fair value of financial instruments",
                    accounts="(663), 763",
                ),
                line(
                    "16",
                    "16. Diferencias de cambio",
                    "16. Differenze di cambio",
                    "16. Exchange differences",
                    accounts="(668), 768",
                ),
                line(
                    "17",
                    "17. Deterioro y resultado por enajenaciones de instrumentos financieros",
                    "17. Svalutazioni e risultato da alienazioni di strumenti finanziari",
                    "17. Impairment and gains or losses on disposal of financial instruments",
                    accounts="(666), (667), (673), (675), (696), (697), (698), (699), 766, 773, "
                    "775, 796, 797, 798, 799",
                ),
            ),
        ),
        line(
            "B",
            "B) RESULTADO FINANCIERO (13 + 14 + 15 + 16 + 17)",
            "B) RISULTATO FINANZIARIO (13 + 14 + 15 + 16 + 17)",
            "B) FINANCIAL RESULT (13 + 14 + 15 + 16 + 17)",
            sign=-1,
            total_of=("FINANCIAL",),
            strong=True,
        ),
        line(
            "C",
            "C) RESULTADO ANTES DE IMPUESTOS (A + B)",
            "C) RISULTATO PRIMA DELLE IMPOSTE (A + B)",
            "C) PROFIT BEFORE TAX (A + B)",
            sign=-1,
            total_of=("A", "B"),
            strong=True,
        ),
        line(
            "18",
            "18. Impuestos sobre beneficios",
            "18. Imposte sul reddito",
            "18. Income tax",
            sign=-1,
            accounts="(630), (6300), 6301, (633), 638",
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
            "D",
            "D) RESULTADO DEL EJERCICIO (C + 18)",
            "D) UTILE (PERDITA) DELL'ESERCIZIO (C + 18)",
            "D) PROFIT (LOSS) FOR THE YEAR (C + 18)",
            sign=-1,
            total_of=("C", "18", "PL.UNMAPPED"),
            strong=True,
        ),
    ),
)

LAYOUT = Layout(
    code="es_pgc_pymes",
    es="PGC PYMES (España)",
    it="PGC PYMES (Spagna)",
    en="Spanish PGC for SMEs",
    chart="es_pgc_pymes",
    balance_sheet=BALANCE_SHEET,
    profit_and_loss=PROFIT_AND_LOSS,
)

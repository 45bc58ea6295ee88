"""Chart-of-accounts templates: shipped data and the loader's validation.

Pure Python (no database): the loader must work without Django being set up.
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys

import pytest

from trastienda.ledger.charts import (
    ACCOUNT_SUBTYPES,
    ACCOUNT_TYPES,
    CSV_HEADER,
    ChartAccount,
    ChartError,
    available_templates,
    chart_validate,
    load_chart,
    parse_chart,
)

TEMPLATES = ("es_pgc_pymes", "it_civil_code", "ifrs")


def by_code(template: str) -> dict[str, ChartAccount]:
    return {a.code: a for a in load_chart(template)}


# --- every template ---------------------------------------------------------------------


def test_available_templates():
    assert available_templates() == {
        "es_pgc_pymes": "Spain: PGC PYMES 2007 (RD 1515/2007)",
        "it_civil_code": "Italy: civil-code schemes (art. 2424/2425 c.c.)",
        "ifrs": "Generic IFRS-style chart",
    }


def test_unknown_template_is_refused():
    with pytest.raises(ValueError, match="Unknown chart template 'fr_pcg'"):
        load_chart("fr_pcg")


@pytest.mark.parametrize(
    ("template", "total", "postable"),
    [("es_pgc_pymes", 487, 358), ("it_civil_code", 261, 192), ("ifrs", 100, 77)],
)
def test_counts(template, total, postable):
    accounts = load_chart(template)
    assert len(accounts) == total
    assert sum(a.postable for a in accounts) == postable


def test_minimum_sizes_from_the_issue():
    assert len(load_chart("es_pgc_pymes")) >= 150
    assert len(load_chart("it_civil_code")) >= 100
    assert 60 <= sum(a.postable for a in load_chart("ifrs")) <= 80


@pytest.mark.parametrize("template", TEMPLATES)
def test_structure(template):
    accounts = load_chart(template)
    codes = [a.code for a in accounts]
    assert len(codes) == len(set(codes))
    index = {a.code: a for a in accounts}
    position = {a.code: i for i, a in enumerate(accounts)}
    parents = {a.parent_code for a in accounts if a.parent_code}
    roots = [a for a in accounts if a.parent_code is None]
    assert roots
    for account in accounts:
        assert isinstance(account, ChartAccount)
        if account.parent_code is not None:
            parent = index[account.parent_code]
            assert not parent.postable, account.code
            assert position[parent.code] < position[account.code], account.code
            # Codes are hierarchical in every template.
            assert account.code.startswith(parent.code), account.code
            assert len(account.code) > len(parent.code), account.code
        if account.postable:
            assert account.code not in parents, account.code
        else:
            assert account.code in parents, f"{account.code} is a group without children"
        assert account.type in ACCOUNT_TYPES, account.code
        assert account.subtype in ACCOUNT_SUBTYPES, account.code
        assert account.reconcilable == (
            account.postable and account.subtype in {"receivable", "payable", "bank"}
        ), account.code
        for name in (account.name_es, account.name_it, account.name_en):
            assert name.strip() == name and name, account.code
    assert chart_validate(accounts) == []


@pytest.mark.parametrize("template", TEMPLATES)
def test_key_subtypes_present_once_each(template):
    accounts = load_chart(template)
    postable = [a for a in accounts if a.postable]
    for subtype in ("retained_earnings", "result"):
        assert [a.subtype for a in postable].count(subtype) == 1, subtype
    for subtype in ("receivable", "payable", "bank", "cash", "tax", "depreciation"):
        assert any(a.subtype == subtype for a in postable), subtype
    for a in postable:
        if a.subtype in {"retained_earnings", "result"}:
            assert a.type == "equity"
        if a.subtype in {"receivable", "bank", "cash", "inventory", "fixed_asset"}:
            assert a.type == "asset", a.code
        if a.subtype == "payable":
            assert a.type == "liability", a.code


@pytest.mark.parametrize("template", TEMPLATES)
def test_values_are_frozen_and_fresh_lists(template):
    first = load_chart(template)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first[0].code = "X"  # type: ignore[misc]
    first.clear()
    assert load_chart(template)


def test_name_by_language():
    account = by_code("es_pgc_pymes")["5720"]
    assert account.name("es") == "Bancos c/c"
    assert account.name("it-IT") == "Banca c/c"
    assert account.name("en") == "Bank current account"
    assert account.name("de") == "Bank current account"


def test_loader_needs_no_django_setup():
    code = (
        "import sys; from trastienda.ledger.charts import load_chart;"
        "n = len(load_chart('es_pgc_pymes'));"
        "import django.conf; assert not django.conf.settings.configured; print(n)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
    )
    assert result.stdout.strip() == "487"


# --- Spain: PGC PYMES -------------------------------------------------------------------

PGC_GROUPS = {
    "1": "Financiación básica",
    "2": "Activo no corriente",
    "3": "Existencias",
    "4": "Acreedores y deudores por operaciones comerciales",
    "5": "Cuentas financieras",
    "6": "Compras y gastos",
    "7": "Ventas e ingresos",
}

PGC_SUBGROUPS = {
    "10": "Capital",
    "12": "Resultados pendientes de aplicación",
    "20": "Inmovilizaciones intangibles",
    "21": "Inmovilizaciones materiales",
    "28": "Amortización acumulada del inmovilizado",
    "40": "Proveedores",
    "43": "Clientes",
    "47": "Administraciones públicas",
    "57": "Tesorería",
    "60": "Compras",
    "62": "Servicios exteriores",
    "64": "Gastos de personal",
    "66": "Gastos financieros",
    "68": "Dotaciones para amortizaciones",
    "70": "Ventas de mercaderías, de producción propia, de servicios, etc.",
    "76": "Ingresos financieros",
}

# code: (name_es, type, subtype, reconcilable)
PGC_KEY_ACCOUNTS = {
    "1000": ("Capital social", "equity", "", False),
    "1130": ("Reservas voluntarias", "equity", "", False),
    "1200": ("Remanente", "equity", "retained_earnings", False),
    "1290": ("Resultado del ejercicio", "equity", "result", False),
    "170": ("Deudas a largo plazo con entidades de crédito", "liability", "", False),
    "2060": ("Aplicaciones informáticas", "asset", "fixed_asset", False),
    "2170": ("Equipos para procesos de información", "asset", "fixed_asset", False),
    "2817": (
        "Amortización acumulada de equipos para procesos de información",
        "asset",
        "depreciation",
        False,
    ),
    "300": ("Mercaderías A", "asset", "inventory", False),
    "4000": ("Proveedores (euros)", "liability", "payable", True),
    "4100": ("Acreedores por prestaciones de servicios (euros)", "liability", "payable", True),
    "4300": ("Clientes (euros)", "asset", "receivable", True),
    "407": ("Anticipos a proveedores", "asset", "", False),
    "438": ("Anticipos de clientes", "liability", "", False),
    "4650": ("Remuneraciones pendientes de pago", "liability", "", False),
    "4720": ("Hacienda Pública, IVA soportado", "asset", "tax", False),
    "4751": ("Hacienda Pública, acreedora por retenciones practicadas", "liability", "tax", False),
    "4752": (
        "Hacienda Pública, acreedora por impuesto sobre sociedades",
        "liability",
        "tax",
        False,
    ),
    "4760": ("Organismos de la Seguridad Social, acreedores", "liability", "", False),
    "4770": ("Hacienda Pública, IVA repercutido", "liability", "tax", False),
    "5200": ("Préstamos a corto plazo de entidades de crédito", "liability", "", False),
    "5700": ("Caja", "asset", "cash", False),
    "5720": ("Bancos c/c", "asset", "bank", True),
    "6000": ("Compras de mercaderías", "expense", "", False),
    "6230": ("Servicios de profesionales independientes", "expense", "", False),
    "6300": ("Impuesto corriente", "expense", "", False),
    "6400": ("Sueldos y salarios", "expense", "", False),
    "6420": ("Seguridad Social a cargo de la empresa", "expense", "", False),
    "6623": ("Intereses de deudas con entidades de crédito", "expense", "", False),
    "6810": ("Amortización del inmovilizado material", "expense", "", False),
    "7000": ("Ventas de mercaderías", "income", "", False),
    "7050": ("Prestaciones de servicios", "income", "", False),
    "7590": ("Ingresos por servicios diversos", "income", "", False),
    "7690": ("Otros ingresos financieros", "income", "", False),
}


def test_pgc_groups_have_their_official_names():
    accounts = by_code("es_pgc_pymes")
    roots = {a.code: a.name_es for a in accounts.values() if a.parent_code is None}
    assert roots == PGC_GROUPS
    for code in PGC_GROUPS:
        assert not accounts[code].postable


def test_pgc_subgroups_have_their_official_names():
    accounts = by_code("es_pgc_pymes")
    for code, name in PGC_SUBGROUPS.items():
        assert accounts[code].name_es == name
        assert accounts[code].parent_code == code[0]
        assert not accounts[code].postable


@pytest.mark.parametrize("code", sorted(PGC_KEY_ACCOUNTS))
def test_pgc_key_accounts(code):
    name, type_, subtype, reconcilable = PGC_KEY_ACCOUNTS[code]
    account = by_code("es_pgc_pymes")[code]
    assert (account.name_es, account.type, account.subtype) == (name, type_, subtype)
    assert account.postable is True
    assert account.reconcilable is reconcilable


def test_pgc_translations_of_key_accounts():
    accounts = by_code("es_pgc_pymes")
    assert (accounts["4300"].name_it, accounts["4300"].name_en) == (
        "Clienti (euro)",
        "Customers (euros)",
    )
    assert (accounts["4770"].name_it, accounts["4770"].name_en) == ("IVA a debito", "Output VAT")
    assert (accounts["1290"].name_it, accounts["1290"].name_en) == (
        "Utile (perdita) dell'esercizio",
        "Profit (loss) for the year",
    )


def test_pgc_codes_follow_the_levels():
    for account in load_chart("es_pgc_pymes"):
        assert account.code.isdigit(), account.code
        assert len(account.code) in (1, 2, 3, 4), account.code
        if account.parent_code is not None:
            assert account.parent_code == account.code[: min(len(account.code) - 1, 3)]
        # Groups and subgroups are never postable; 3-digit accounts only when they have no
        # sub-accounts (checked in test_structure).
        if len(account.code) <= 2:
            assert not account.postable, account.code
        if len(account.code) == 4:
            assert account.postable, account.code


def test_pgc_income_and_expense_only_in_groups_6_and_7():
    for account in load_chart("es_pgc_pymes"):
        group = account.code[0]
        if account.type in ("income", "expense"):
            assert group in "67", account.code
        if group == "6":
            assert account.type == "expense", account.code
        if group == "7":
            assert account.type == "income", account.code


def test_pgc_balance_types_by_group():
    accounts = load_chart("es_pgc_pymes")
    for account in accounts:
        code = account.code
        if code[:2] in ("10", "11", "12", "13"):
            assert account.type == "equity", code
        elif code[0] == "1" and len(code) > 1:
            assert account.type == "liability", code
        if code[0] in "23":
            assert account.type == "asset", code
        if code[:3] in ("430", "431", "440", "460", "470", "472", "473", "474", "570", "572"):
            assert account.type == "asset", code
        if code[:3] in ("400", "401", "410", "411", "465", "475", "476", "477", "479", "520"):
            assert account.type == "liability", code
    assert all(
        a.subtype == "inventory"
        for a in accounts
        if a.code[:2] in {"30", "31", "35"} and len(a.code) > 2
    )
    assert all(
        a.subtype == "depreciation" for a in accounts if a.code[:2] == "28" and len(a.code) > 2
    )


def test_pgc_only_partner_and_bank_accounts_are_reconcilable():
    reconcilable = {a.code for a in load_chart("es_pgc_pymes") if a.reconcilable}
    assert {"4000", "4004", "4009", "4100", "4300", "4304", "4310", "5720", "573"} <= reconcilable
    assert all(code[:3] in {"400", "401", "410", "411", "430", "431", "432", "436", "440",
                            "441", "446", "572", "573", "574", "575", "173", "523"}
               for code in reconcilable)  # fmt: skip


# --- Italy ------------------------------------------------------------------------------

IT_SECTIONS = {
    "01": ("Crediti verso soci per versamenti ancora dovuti", "asset"),
    "02": ("Immobilizzazioni", "asset"),
    "03": ("Attivo circolante", "asset"),
    "04": ("Ratei e risconti attivi", "asset"),
    "05": ("Patrimonio netto", "equity"),
    "06": ("Fondi per rischi e oneri", "liability"),
    "07": ("Trattamento di fine rapporto di lavoro subordinato", "liability"),
    "08": ("Debiti", "liability"),
    "09": ("Ratei e risconti passivi", "liability"),
    "10": ("Valore della produzione", "income"),
    "11": ("Costi della produzione", "expense"),
    "12": ("Proventi e oneri finanziari", "income"),
    "13": ("Rettifiche di valore di attività e passività finanziarie", "income"),
    "14": ("Imposte sul reddito dell'esercizio, correnti, differite e anticipate", "expense"),
}

# code: (name_it, type, subtype)
IT_KEY_ACCOUNTS = {
    "03.02.001": ("Crediti verso clienti", "asset", "receivable"),
    "08.06.001": ("Debiti verso fornitori", "liability", "payable"),
    "03.02.007": ("IVA a credito", "asset", "tax"),
    "08.10.001": ("IVA a debito", "liability", "tax"),
    "08.10.003": ("Erario c/ritenute da versare", "liability", "tax"),
    "03.04.001": ("Banca c/c", "asset", "bank"),
    "03.04.005": ("Cassa", "asset", "cash"),
    "03.01.005": ("Merci", "asset", "inventory"),
    "11.01.001": ("Merci c/acquisti", "expense", ""),
    "10.01.001": ("Merci c/vendite", "income", ""),
    "11.04.001": ("Salari e stipendi", "expense", ""),
    "11.04.002": ("Oneri sociali", "expense", ""),
    "11.04.003": ("Trattamento di fine rapporto", "expense", ""),
    "07.01.001": ("Fondo TFR", "liability", ""),
    "11.05.002": ("Ammortamento delle immobilizzazioni materiali", "expense", ""),
    "02.02.905": ("Fondo ammortamento macchine d'ufficio elettroniche", "asset", "depreciation"),
    "05.01.001": ("Capitale sociale", "equity", ""),
    "05.04.001": ("Riserva legale", "equity", ""),
    "05.08.001": ("Utili (perdite) portati a nuovo", "equity", "retained_earnings"),
    "05.09.001": ("Utile (perdita) dell'esercizio", "equity", "result"),
    "12.04.002": ("Perdite su cambi", "expense", ""),
    "14.01.001": ("IRES", "expense", ""),
}


def test_it_sections_follow_the_civil_code_schemes():
    accounts = by_code("it_civil_code")
    roots = {a.code: (a.name_it, a.type) for a in accounts.values() if a.parent_code is None}
    assert roots == IT_SECTIONS
    equity = {a.name_it for a in accounts.values() if a.parent_code == "05"}
    assert len(equity) == 10  # Passivo A.I to A.X
    assert "Costi per servizi" in {a.name_it for a in accounts.values() if a.parent_code == "11"}


@pytest.mark.parametrize("code", sorted(IT_KEY_ACCOUNTS))
def test_it_key_accounts(code):
    account = by_code("it_civil_code")[code]
    assert (account.name_it, account.type, account.subtype) == IT_KEY_ACCOUNTS[code]
    assert account.postable is True


def test_it_code_format_and_income_statement_types():
    for account in load_chart("it_civil_code"):
        parts = account.code.split(".")
        assert [len(p) for p in parts] == [2, 2, 3][: len(parts)], account.code
        assert all(p.isdigit() for p in parts), account.code
        assert account.postable == (len(parts) == 3), account.code
        if parts[0] in {"10", "11", "12", "13", "14"}:
            assert account.type in ("income", "expense"), account.code
        else:
            assert account.type not in ("income", "expense"), account.code


# --- IFRS -------------------------------------------------------------------------------


def test_ifrs_sections_and_key_accounts():
    accounts = by_code("ifrs")
    roots = {a.code: (a.name_en, a.type) for a in accounts.values() if a.parent_code is None}
    assert roots == {
        "1": ("Assets", "asset"),
        "2": ("Liabilities", "liability"),
        "3": ("Equity", "equity"),
        "4": ("Revenue and other income", "income"),
        "5": ("Cost of sales", "expense"),
        "6": ("Operating expenses", "expense"),
        "7": ("Finance income and costs", "income"),
        "8": ("Income tax", "expense"),
    }
    assert (accounts["1210"].name_en, accounts["1210"].subtype) == (
        "Trade receivables",
        "receivable",
    )
    assert (accounts["2201"].name_en, accounts["2201"].subtype) == ("Trade payables", "payable")
    assert (accounts["1251"].name_es, accounts["1251"].name_it) == ("Bancos c/c", "Banca c/c")
    assert accounts["3201"].subtype == "retained_earnings"
    assert accounts["3202"].subtype == "result"
    assert accounts["7201"].type == "expense"


# --- the parser's validation ------------------------------------------------------------

HEADER = ",".join(CSV_HEADER)


def parse(text: str) -> list[ChartAccount]:
    return parse_chart(io.StringIO(text), source="test.csv")


def test_parse_good_chart():
    accounts = parse(
        f"{HEADER}\n"
        "1,,Activo,Attività,Assets,asset,,false,false\n"
        "\n"
        "10,1,Bancos,Banche,Banks,asset,bank,true,true\n"
    )
    assert accounts == [
        ChartAccount("1", None, "Activo", "Attività", "Assets", "asset", "", False, False),
        ChartAccount("10", "1", "Bancos", "Banche", "Banks", "asset", "bank", True, True),
    ]


def test_parse_reads_a_byte_order_mark():
    accounts = parse(f"\ufeff{HEADER}\n1,,A,A,A,asset,,true,false\n")
    assert [a.code for a in accounts] == ["1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "test.csv: the file is empty."),
        ("code,name\n", "test.csv line 1: the header must be"),
    ],
)
def test_parse_refuses_bad_files(text, message):
    with pytest.raises(ChartError) as excinfo:
        parse(text)
    assert excinfo.value.errors[0].startswith(message)


def test_parse_lists_every_error_with_its_line():
    text = (
        f"{HEADER}\n"
        "1,,Activo,Attività,Assets,asset,,false,false\n"  # 2 ok
        "10,1,Caja,,Cash,asset,cash,true,false\n"  # 3 name_it empty
        "11,1,X,X,X,assets,,true,false\n"  # 4 bad type
        "12,1,X,X,X,asset,bank_account,true,false\n"  # 5 bad subtype
        "13,1,X,X,X,asset,,yes,false\n"  # 6 bad boolean
        "14,9,X,X,X,asset,,true,false\n"  # 7 unknown parent
        "15,1,X,X,X,asset,,true\n"  # 8 columns
        "16,1,X,X,X,asset,,true,false\n"  # 9 ok
        "16,1,X,X,X,asset,,true,false\n"  # 10 repeated
        "160,16,X,X,X,asset,,true,false\n"  # 11 parent postable (and 16 has children)
        "17,1,X,X,X,liability,receivable,true,true\n"  # 12 subtype/type mismatch
        "18,1,X,X,X,asset,,false,true\n"  # 13 reconcilable group
        "19,20,X,X,X,asset,,true,false\n"  # 14 parent after child
        "20,1,X,X,X,asset,,false,false\n"  # 15
        "200,20,X,X,X,asset,,true,false\n"  # 16
    )
    with pytest.raises(ChartError) as excinfo:
        parse(text)
    assert excinfo.value.errors == [
        "test.csv line 3: name_it: required.",
        "test.csv line 4: type: 'assets' is not one of asset, liability, equity, income, expense.",
        "test.csv line 5: subtype: 'bank_account' is not empty or one of receivable, payable, "
        "bank, cash, tax, inventory, fixed_asset, depreciation, retained_earnings, result, other.",
        "test.csv line 6: postable: 'yes' is not true or false.",
        "test.csv line 8: expected 9 columns, found 8.",
        "test.csv line 10: code: 16 repeats line 9.",
        "test.csv line 12: subtype: receivable does not fit an account of type liability.",
        "test.csv line 13: reconcilable: only a postable account can be reconcilable.",
        "test.csv line 7: parent_code: 9 does not exist.",
        "test.csv line 9: postable: an account with children cannot be postable.",
        "test.csv line 11: parent_code: 16 is postable; a parent must be a group.",
        "test.csv line 14: parent_code: 20 must come before its children.",
    ]


def test_chart_validate_reports_structure_errors():
    good = load_chart("ifrs")
    bad = [
        *good,
        dataclasses.replace(good[-1]),
        dataclasses.replace(good[-1], code="9", parent_code="99"),
    ]
    assert chart_validate(bad) == [
        "8102: code: repeated.",
        "9: parent_code: 99 does not exist.",
    ]

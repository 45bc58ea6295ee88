"""``trastienda bank account add|list``, ``bank import FILE`` and ``bank reconcile``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trastienda.banking.models import BankAccount, StatementLine
from trastienda.billing.tests.test_invoices import setup  # noqa: F401

IBAN = "ES9121000418450200051332"

CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>CLI-1</MsgId><CreDtTm>2026-03-31T08:00:00</CreDtTm></GrpHdr>
<Stmt><Id>CLI-STMT-1</Id><CreDtTm>2026-03-31T08:00:00</CreDtTm>
<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-31</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-03-10</Dt></BookgDt><ValDt><Dt>2026-03-10</Dt></ValDt>
<AcctSvcrRef>REF-1</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>PAGO CLIENTE</Ustrd></RmtInf>
</TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">12.40</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-03-15</Dt></BookgDt><AcctSvcrRef>REF-2</AcctSvcrRef>
<NtryDtls><TxDtls><RmtInf><Ustrd>COMISION MANTENIMIENTO</Ustrd></RmtInf></TxDtls></NtryDtls>
</Ntry></Stmt></BkToCstmrStmt></Document>
"""


def camt(tmp_path: Path, closing: str = "1237.60", iban: str = IBAN) -> Path:
    path = tmp_path / f"camt-{closing}-{iban[-4:]}.xml"
    path.write_text(CAMT.format(iban=iban, closing=closing), encoding="utf-8")
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("bank", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_account_add_import_and_reconcile(setup: Any, tmp_path: Path) -> None:  # noqa: F811
    code = setup.company.code
    out, _err = run("account", "add", "--company", code, "--iban", "es91 2100 0418 4502 0005 1332")
    account = BankAccount.objects.get(iban=IBAN)
    assert account.account.code in out and account.currency == "EUR"
    with pytest.raises(SystemExit):  # the same IBAN again
        run("account", "add", "--company", code, "--iban", IBAN)
    listing, _err = run("account", "list", "--company", code)
    assert IBAN in listing

    with pytest.raises(SystemExit):  # does not add up: nothing imported
        run("import", str(camt(tmp_path, closing="1300.00")), "--company", code)
    assert not StatementLine.objects.exists()
    out, _err = run("import", str(camt(tmp_path)), "--company", code, "--account", IBAN)
    assert "2 movements imported" in out
    assert StatementLine.objects.count() == 2
    with pytest.raises(SystemExit):  # already imported
        run("import", str(camt(tmp_path)), "--company", code)

    out, _err = run("reconcile", "--company", code)
    assert "PAGO CLIENTE" in out and "2 open lines shown" in out
    out, _err = run("reconcile", "--company", code, "--auto")
    assert "2 open lines" in out


def test_unknown_company_and_account(setup: Any, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(CommandError):
        run("account", "list", "--company", "NOPE")
    with pytest.raises(CommandError):
        run("import", str(camt(tmp_path)), "--company", setup.company.code, "--account", IBAN)

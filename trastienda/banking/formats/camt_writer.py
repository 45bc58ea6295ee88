"""A CAMT.053 (``camt.053.001.02``) writer: statements with the structure banks send
(balances, entries with references, related parties, remittance information, bank transaction
codes) that add up unless told otherwise. Used by the demo data, the benchmarks and the tests.
Amounts are decimal strings or Decimals, never floats."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

from trastienda.core.money import currency_exponent


@dataclass(frozen=True)
class Entry:
    date: dt.date
    amount: str | Decimal  # signed: money in positive
    description: str = ""
    reference: str = ""  # end-to-end id
    bank_reference: str = ""  # AcctSvcrRef
    name: str = ""
    iban: str = ""


@dataclass(frozen=True)
class CamtStatement:
    iban: str
    entries: list[Entry] = field(default_factory=list)
    opening: str | Decimal = "1000.00"
    closing: str | None = None  # None: opening + movements (it adds up)
    currency: str = "EUR"
    statement_id: str = "STMT-2026-001"
    start: dt.date = dt.date(2026, 3, 1)
    end: dt.date = dt.date(2026, 3, 31)

    def closing_balance(self) -> Decimal:
        if self.closing is not None:
            return Decimal(self.closing)
        return Decimal(self.opening) + sum((Decimal(e.amount) for e in self.entries), Decimal(0))


def _number(amount: Decimal, currency: str) -> str:
    return f"{abs(amount):.{currency_exponent(currency)}f}"


def _balance(code: str, amount: Decimal, currency: str, day: dt.date) -> str:
    indicator = "CRDT" if amount >= 0 else "DBIT"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="{currency}">{_number(amount, currency)}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>"
    )


def _entry(entry: Entry, currency: str) -> str:
    amount = Decimal(entry.amount)
    indicator = "CRDT" if amount >= 0 else "DBIT"
    party, account = ("Dbtr", "DbtrAcct") if amount >= 0 else ("Cdtr", "CdtrAcct")
    parties = ""
    if entry.name or entry.iban:
        parties = "<RltdPties>"
        if entry.name:
            parties += f"<{party}><Nm>{escape(entry.name)}</Nm></{party}>"
        if entry.iban:
            parties += f"<{account}><Id><IBAN>{entry.iban}</IBAN></Id></{account}>"
        parties += "</RltdPties>"
    refs = f"<Refs><EndToEndId>{escape(entry.reference or 'NOTPROVIDED')}</EndToEndId></Refs>"
    remittance = (
        f"<RmtInf><Ustrd>{escape(entry.description)}</Ustrd></RmtInf>" if entry.description else ""
    )
    bank_reference = (
        f"<AcctSvcrRef>{escape(entry.bank_reference)}</AcctSvcrRef>" if entry.bank_reference else ""
    )
    return (
        f'<Ntry><Amt Ccy="{currency}">{_number(amount, currency)}</Amt>'
        f"<CdtDbtInd>{indicator}</CdtDbtInd>"
        f"<Sts>BOOK</Sts><BookgDt><Dt>{entry.date.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{entry.date.isoformat()}</Dt></ValDt>{bank_reference}"
        f"<BkTxCd><Prtry><Cd>TRF</Cd></Prtry></BkTxCd>"
        f"<NtryDtls><TxDtls>{refs}{parties}{remittance}</TxDtls></NtryDtls></Ntry>"
    )


def camt053(*statements: CamtStatement, message_id: str = "MSG-1") -> bytes:
    """A camt.053.001.02 file holding ``statements``."""
    body = []
    for statement in statements:
        body.append(
            f"<Stmt><Id>{escape(statement.statement_id)}</Id>"
            f"<CreDtTm>{statement.end.isoformat()}T23:00:00</CreDtTm>"
            f"<FrToDt><FrDtTm>{statement.start.isoformat()}T00:00:00</FrDtTm>"
            f"<ToDtTm>{statement.end.isoformat()}T23:59:59</ToDtTm></FrToDt>"
            f"<Acct><Id><IBAN>{statement.iban}</IBAN></Id><Ccy>{statement.currency}</Ccy></Acct>"
            + _balance(
                "OPBD",
                Decimal(statement.opening),
                statement.currency,
                statement.start - dt.timedelta(days=1),
            )
            + _balance("CLBD", statement.closing_balance(), statement.currency, statement.end)
            + "".join(_entry(entry, statement.currency) for entry in statement.entries)
            + "</Stmt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>{message_id}</MsgId>"
        "<CreDtTm>2026-04-01T08:00:00</CreDtTm></GrpHdr>"
        + "".join(body)
        + "</BkToCstmrStmt></Document>\n"
    ).encode()

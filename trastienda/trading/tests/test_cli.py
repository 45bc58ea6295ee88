"""``trastienda trading import trades FILE``: all or nothing, errors by line, exit 1."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trastienda.trading.models import Trade
from trastienda.trading.tests.conftest import past_business_day


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("trading", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_trades(book: Any, tmp_path: Path) -> None:
    company = book.company
    day = past_business_day().isoformat()
    header = "trade_id,executed_at,account,trader,instrument,broker,side,quantity,price\n"
    row = (
        f"T-1,{day}T10:15:00,{book.account.code},{book.trader.code},"
        f"{book.equity.code},{book.broker.code},buy,100,12.5\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(header + row + row.replace("T-1", "T-2").replace(",buy,", ",hold,"))
    with pytest.raises(SystemExit):
        run("import", "trades", str(bad), "--company", company.code)
    assert not Trade.objects.exists()
    good = tmp_path / "good.csv"
    good.write_text(header + row)
    out, _err = run("import", "trades", str(good), "--company", company.code)
    assert "1 trades booked" in out and Trade.objects.count() == 1
    with pytest.raises(CommandError):
        run("import", "trades", str(good), "--company", "NOPE")

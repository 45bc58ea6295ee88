"""Demo data of trading's compliance part: per demo company one rule of each kind sized for
the demo instruments and traders, a restricted instrument (the index option, from the day its
trades start to be checked), a compliance run over every demo trade day (so alerts exist: one
assigned to the operations person, one closed with a justification) and two procedures of
the back-office manual, each with two versions, linked to the rules they describe.
Idempotent: a company that already has compliance rules is left alone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from trastienda.core.demo import DemoContext, demo_step
from trastienda.core.models import Company
from trastienda.trading import compliance
from trastienda.trading.models import Alert, ComplianceRule, Instrument, Trade, Trader

RECONCILIATION_V1 = """Purpose: every trade booked by the front office is confirmed by its broker.

1. Each morning, import the brokers' FIX execution reports and confirmation files.
2. Reconcile the previous trade date (Trading > Reconcile).
3. Assign every open break to a member of operations before 11:00.
4. Resolve breaks with the broker or the desk; write how each was resolved."""

RECONCILIATION_V2 = """Purpose: every trade booked by the front office is confirmed by its broker.

1. Each morning, import the brokers' FIX execution reports and confirmation files.
2. Reconcile the previous trade date (Trading > Reconcile).
3. Assign every open break to a member of operations before 10:30.
4. Resolve breaks with the broker or the desk; write how each was resolved.
5. Late bookings found by the compliance run are justified by the desk the same day."""

EXPIRY_V1 = """Purpose: no derivative position reaches expiry unnoticed.

1. Every Monday, review the expiry calendar for the next two weeks.
2. Tell the desk of each position expiring and agree on roll, close or exercise.
3. On expiry day, run the expiry process and check the resulting trades."""

EXPIRY_V2 = """Purpose: no derivative position reaches expiry unnoticed.

1. Every Monday, review the expiry calendar for the next two weeks.
2. Tell the desk of each position expiring and agree on roll, close or exercise.
3. Positions above the position limit are reduced before the expiry week.
4. On expiry day, run the expiry process and check the resulting trades."""


def _rules(company: Company) -> dict[str, ComplianceRule]:
    instruments = {i.type: i for i in Instrument.objects.for_company(company).order_by("code")}
    shares = list(Instrument.objects.for_company(company).filter(type="equity").order_by("code"))
    traders = {t.code: t for t in Trader.objects.for_company(company)}
    bond = instruments.get("bond")
    specs: list[dict[str, Any]] = [
        {
            "code": "POS-EQ",
            "name": "Equity position limit per trader",
            "kind": "position_limit",
            "severity": "high",
            "instrument": shares[0] if shares else None,
            "limit": "2500",
        },
        {
            "code": "EXP-BOND",
            "name": "Government bond exposure limit",
            "kind": "exposure_limit",
            "severity": "high",
            "instrument": bond,
            "limit": "20000000",
            "currency": "EUR",
        },
        {
            "code": "RESTRICTED",
            "name": "Restricted list",
            "kind": "restricted_list",
            "severity": "high",
        },
        {
            "code": "HOURS",
            "name": "Trading outside market hours",
            "kind": "outside_hours",
            "severity": "medium",
        },
        {
            "code": "LATE-DER",
            "name": "Late bookings of the derivatives desk",
            "kind": "late_booking",
            "severity": "low",
            "trader": traders.get("T04"),
        },
        {
            "code": "SIZE",
            "name": "Unusual trade size",
            "kind": "unusual_size",
            "severity": "medium",
            "params": {"multiple": "3", "lookback": 20, "min_history": 3},
        },
    ]
    return {
        spec["code"]: compliance.compliance_rule_create(company=company, **spec) for spec in specs
    }


def _restricted(company: Company, days: list[dt.date]) -> None:
    option = Instrument.objects.for_company(company).filter(type="option").first()
    if option is None or not days:
        return
    compliance.restricted_instrument_create(
        company=company,
        instrument=option,
        reason="Inside information: the house is advising the index provider",
        valid_from=days[len(days) // 2],
    )


def _review(company: Company, ctx: DemoContext) -> tuple[int, int]:
    users = get_user_model().objects
    reviewer = (
        users.filter(memberships__company=company, memberships__role__code="operations")
        .order_by("username")
        .first()
    )
    closer = (
        users.filter(memberships__company=company, memberships__role__code="administrator")
        .order_by("username")
        .first()
    )
    alerts = list(Alert.objects.for_company(company).order_by("date", "id"))
    assigned = closed = 0
    if reviewer is not None and alerts:
        compliance.alert_assign(
            instance=alerts[-1],
            owner=reviewer,
            comment="Please check with the desk",
            user=closer,
        )
        assigned = 1
    if closer is not None and len(alerts) > 1:
        compliance.alert_close(
            instance=alerts[0],
            justification="Client order worked over the day; size agreed with the client.",
            user=closer,
        )
        closed = 1
    return assigned, closed


def _procedures(company: Company, rules: dict[str, ComplianceRule], today: dt.date) -> None:
    first = today - dt.timedelta(days=90)
    for code, title, v1, v2, note, controls in (
        (
            "PROC-REC",
            "Daily trade reconciliation",
            RECONCILIATION_V1,
            RECONCILIATION_V2,
            "Earlier cut-off for assigning breaks; late bookings justified the same day.",
            [rules["LATE-DER"], rules["HOURS"]],
        ),
        (
            "PROC-EXP",
            "Expiry process",
            EXPIRY_V1,
            EXPIRY_V2,
            "Positions above the limit reduced before the expiry week.",
            [rules["POS-EQ"], rules["EXP-BOND"]],
        ),
    ):
        procedure = compliance.procedure_create(
            company=company,
            code=code,
            title=title,
            body=v1,
            effective_from=first,
            change_note="First version.",
            controls=controls,
        )
        compliance.procedure_version_add(
            procedure=procedure,
            body=v2,
            effective_from=today - dt.timedelta(days=7),
            change_note=note,
        )


@demo_step(order=440)
def trading_compliance(ctx: DemoContext) -> None:
    """Rules, a restricted instrument, compliance runs with alerts, two procedures."""
    from django.utils import timezone

    today = timezone.localdate()
    for company in ctx.companies.values():
        if ComplianceRule.objects.for_company(company).exists():
            continue
        if not Trade.objects.for_company(company).exists():
            continue
        days = sorted(
            set(
                Trade.objects.for_company(company)
                .filter(is_current=True)
                .values_list("trade_date", flat=True)
            )
        )
        try:
            with transaction.atomic():
                rules = _rules(company)
                _restricted(company, days)
                raised = sum(
                    compliance.compliance_run(company=company, date=day).raised for day in days
                )
                assigned, closed = _review(company, ctx)
                _procedures(company, rules, today)
        except (ValidationError, ValueError) as exc:  # the demo goes on
            ctx.log(f"  compliance {company.code}: {getattr(exc, 'messages', exc)}")
            continue
        ctx.log(
            f"  compliance {company.code}: {len(rules)} rules, {raised} alerts "
            f"({assigned} assigned, {closed} closed), 2 procedures"
        )

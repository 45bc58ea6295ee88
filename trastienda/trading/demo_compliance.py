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

RECONCILIATION_V1 = {
    "ES": """Objetivo: que el intermediario confirme toda operación registrada por el front office.

1. Cada mañana, importar los informes de ejecución FIX y las confirmaciones de los intermediarios.
2. Conciliar la fecha de contratación anterior (Contratación > Conciliar).
3. Asignar cada discrepancia abierta a una persona de operaciones antes de las 11:00.
4. Resolver las discrepancias con el intermediario o la mesa y anotar cómo se resolvió cada una.""",
    "IT": """Scopo: ogni operazione registrata dal front office è confermata dal relativo broker.

1. Ogni mattina, importare gli execution report FIX e i file di conferma dei broker.
2. Riconciliare la data di negoziazione precedente (Negoziazione > Riconciliazione).
3. Assegnare ogni discrepanza aperta a un addetto delle operations entro le 11:00.
4. Risolvere le discrepanze con il broker o con il desk; annotare come è stata risolta ciascuna.""",
}

RECONCILIATION_V2 = {
    "ES": """Objetivo: que el intermediario confirme toda operación registrada por el front office.

1. Cada mañana, importar los informes de ejecución FIX y las confirmaciones de los intermediarios.
2. Conciliar la fecha de contratación anterior (Contratación > Conciliar).
3. Asignar cada discrepancia abierta a una persona de operaciones antes de las 10:30.
4. Resolver las discrepancias con el intermediario o la mesa y anotar cómo se resolvió cada una.
5. La mesa justifica en el día los registros tardíos que detecten los controles de cumplimiento.""",
    "IT": """Scopo: ogni operazione registrata dal front office è confermata dal relativo broker.

1. Ogni mattina, importare gli execution report FIX e i file di conferma dei broker.
2. Riconciliare la data di negoziazione precedente (Negoziazione > Riconciliazione).
3. Assegnare ogni discrepanza aperta a un addetto delle operations entro le 10:30.
4. Risolvere le discrepanze con il broker o con il desk; annotare come è stata risolta ciascuna.
5. Il desk giustifica in giornata le registrazioni tardive rilevate dai controlli di compliance.""",
}

EXPIRY_V1 = {
    "ES": """Objetivo: ninguna posición en derivados llega a su vencimiento sin que se advierta.

1. Cada lunes, revisar el calendario de vencimientos de las dos semanas siguientes.
2. Avisar a la mesa de cada posición que vence y acordar su renovación, cierre o ejercicio.
3. Al vencimiento, ejecutar el proceso de vencimientos y revisar las operaciones generadas.""",
    "IT": """Scopo: nessuna posizione in derivati giunge a scadenza inosservata.

1. Ogni lunedì, esaminare il calendario delle scadenze delle due settimane successive.
2. Informare il desk di ogni posizione in scadenza e concordare rinnovo, chiusura o esercizio.
3. Alla scadenza, eseguire l'elaborazione delle scadenze e verificare le operazioni generate.""",
}

EXPIRY_V2 = {
    "ES": """Objetivo: ninguna posición en derivados llega a su vencimiento sin que se advierta.

1. Cada lunes, revisar el calendario de vencimientos de las dos semanas siguientes.
2. Avisar a la mesa de cada posición que vence y acordar su renovación, cierre o ejercicio.
3. Las posiciones que superan el límite de posición se reducen antes de la semana de vencimiento.
4. Al vencimiento, ejecutar el proceso de vencimientos y revisar las operaciones generadas.""",
    "IT": """Scopo: nessuna posizione in derivati giunge a scadenza inosservata.

1. Ogni lunedì, esaminare il calendario delle scadenze delle due settimane successive.
2. Informare il desk di ogni posizione in scadenza e concordare rinnovo, chiusura o esercizio.
3. Le posizioni oltre il limite di posizione sono ridotte prima della settimana di scadenza.
4. Alla scadenza, eseguire l'elaborazione delle scadenze e verificare le operazioni generate.""",
}

TEXTS: dict[str, dict[str, str]] = {
    "ES": {
        "POS-EQ": "Límite de posición en renta variable por operador",
        "EXP-BOND": "Límite de exposición a deuda pública",
        "RESTRICTED": "Lista restringida",
        "HOURS": "Contratación fuera del horario de mercado",
        "LATE-DER": "Registros tardíos de la mesa de derivados",
        "SIZE": "Tamaño de operación inusual",
        "restricted_reason": "Información privilegiada: la entidad asesora al proveedor del índice",
        "assign_comment": "Por favor, compruébelo con la mesa",
        "close_justification": (
            "Orden de cliente ejecutada a lo largo de la sesión; tamaño acordado con el cliente."
        ),
        "PROC-REC": "Conciliación diaria de operaciones",
        "PROC-REC-note": (
            "Se adelanta la hora límite para asignar discrepancias; "
            "los registros tardíos se justifican el mismo día."
        ),
        "PROC-EXP": "Proceso de vencimientos",
        "PROC-EXP-note": (
            "Las posiciones por encima del límite se reducen antes de la semana de vencimiento."
        ),
        "first_version": "Primera versión.",
    },
    "IT": {
        "POS-EQ": "Limite di posizione azionaria per operatore",
        "EXP-BOND": "Limite di esposizione ai titoli di Stato",
        "RESTRICTED": "Strumenti soggetti a restrizioni",
        "HOURS": "Negoziazione fuori orario di mercato",
        "LATE-DER": "Registrazioni tardive del desk derivati",
        "SIZE": "Dimensione insolita dell'operazione",
        "restricted_reason": (
            "Informazioni privilegiate: la società presta consulenza al provider dell'indice"
        ),
        "assign_comment": "Si prega di verificare con il desk",
        "close_justification": (
            "Ordine del cliente eseguito nel corso della giornata; "
            "dimensione concordata con il cliente."
        ),
        "PROC-REC": "Riconciliazione giornaliera delle operazioni",
        "PROC-REC-note": (
            "Anticipato il termine per assegnare le discrepanze; "
            "registrazioni tardive giustificate in giornata."
        ),
        "PROC-EXP": "Elaborazione delle scadenze",
        "PROC-EXP-note": "Posizioni oltre il limite ridotte prima della settimana di scadenza.",
        "first_version": "Prima versione.",
    },
}


def _language(company: Company) -> str:
    return "IT" if company.country == "IT" else "ES"


def _rules(company: Company) -> dict[str, ComplianceRule]:
    instruments = {i.type: i for i in Instrument.objects.for_company(company).order_by("code")}
    shares = list(Instrument.objects.for_company(company).filter(type="equity").order_by("code"))
    traders = {t.code: t for t in Trader.objects.for_company(company)}
    bond = instruments.get("bond")
    texts = TEXTS[_language(company)]
    specs: list[dict[str, Any]] = [
        {
            "code": "POS-EQ",
            "name": texts["POS-EQ"],
            "kind": "position_limit",
            "severity": "high",
            "instrument": shares[0] if shares else None,
            "limit": "2500",
        },
        {
            "code": "EXP-BOND",
            "name": texts["EXP-BOND"],
            "kind": "exposure_limit",
            "severity": "high",
            "instrument": bond,
            "limit": "20000000",
            "currency": "EUR",
        },
        {
            "code": "RESTRICTED",
            "name": texts["RESTRICTED"],
            "kind": "restricted_list",
            "severity": "high",
        },
        {
            "code": "HOURS",
            "name": texts["HOURS"],
            "kind": "outside_hours",
            "severity": "medium",
        },
        {
            "code": "LATE-DER",
            "name": texts["LATE-DER"],
            "kind": "late_booking",
            "severity": "low",
            "trader": traders.get("T04"),
        },
        {
            "code": "SIZE",
            "name": texts["SIZE"],
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
        reason=TEXTS[_language(company)]["restricted_reason"],
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
    texts = TEXTS[_language(company)]
    assigned = closed = 0
    if reviewer is not None and alerts:
        compliance.alert_assign(
            instance=alerts[-1],
            owner=reviewer,
            comment=texts["assign_comment"],
            user=closer,
        )
        assigned = 1
    if closer is not None and len(alerts) > 1:
        compliance.alert_close(
            instance=alerts[0],
            justification=texts["close_justification"],
            user=closer,
        )
        closed = 1
    return assigned, closed


def _procedures(company: Company, rules: dict[str, ComplianceRule], today: dt.date) -> None:
    first = today - dt.timedelta(days=90)
    language = _language(company)
    texts = TEXTS[language]
    for code, title, v1, v2, note, controls in (
        (
            "PROC-REC",
            texts["PROC-REC"],
            RECONCILIATION_V1[language],
            RECONCILIATION_V2[language],
            texts["PROC-REC-note"],
            [rules["LATE-DER"], rules["HOURS"]],
        ),
        (
            "PROC-EXP",
            texts["PROC-EXP"],
            EXPIRY_V1[language],
            EXPIRY_V2[language],
            texts["PROC-EXP-note"],
            [rules["POS-EQ"], rules["EXP-BOND"]],
        ),
    ):
        procedure = compliance.procedure_create(
            company=company,
            code=code,
            title=title,
            body=v1,
            effective_from=first,
            change_note=texts["first_version"],
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

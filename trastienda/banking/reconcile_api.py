"""REST API of reconciliation and the cash position (registered on the core router):

- ``GET  /api/v1/banking/reconciliations/`` (``?line=``, ``?state=``) and ``/{id}/``
- ``POST /api/v1/banking/reconciliations/`` ``{"line": id, "kind": "invoices", "allocations":
  [{"invoice": id, "amount": "12.34"|null}], "write_off": false}``, ``{"line": id, "kind":
  "ledger", "entry_lines": [id, ...]}``, ``{"line": id, "kind": "entry", "account": "6260",
  "amount": "3.50"|null, "description": "..."}`` or ``{"line": id, "kind": "batch", "batch":
  id}`` → 201 with the reconciliations made; 400 naming the field, nothing written
- ``POST /api/v1/banking/reconciliations/{id}/undo/``
- ``GET  /api/v1/banking/reconciliations/suggestions/?line=ID``: scored proposals with reasons
- ``POST /api/v1/banking/reconciliations/auto/`` ``{"bank_account": id|null}``
- ``GET  /api/v1/banking/cash/``: today's balances and the 13-week forecast

Amounts are decimal strings, signed from the bank account's side (money in positive).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.banking import reconciliation as rec
from trastienda.banking.cash import cash_forecast, cash_position
from trastienda.banking.models import BankAccount, Reconciliation, StatementLine
from trastienda.core.api import CompanyGenericViewSet, CompanyModelSerializer, router
from trastienda.core.money import Money


def money_text(minor: int, currency: str) -> str:
    return str(Money(minor, currency).to_decimal())


class ReconcileAllocationSerializer(serializers.Serializer[Any]):
    invoice = serializers.IntegerField()
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=6, required=False, allow_null=True
    )


class ReconcileSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField(help_text="The statement line's id.")
    kind = serializers.ChoiceField(choices=["invoices", "ledger", "entry", "batch"])
    allocations = ReconcileAllocationSerializer(many=True, required=False)
    write_off = serializers.BooleanField(required=False, default=False)
    entry_lines = serializers.ListField(child=serializers.IntegerField(), required=False)
    account = serializers.CharField(required=False, help_text="Ledger account code (entry).")
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=6, required=False, allow_null=True
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    batch = serializers.IntegerField(required=False)


class ReconciliationSerializer(CompanyModelSerializer):
    class Meta:
        model = Reconciliation
        fields = ["id"]

    def to_representation(self, instance: Reconciliation) -> dict[str, Any]:
        currency = instance.line.currency
        return {
            "id": instance.pk,
            "line": instance.line_id,
            "kind": instance.kind,
            "state": instance.state,
            "amount": money_text(instance.amount, currency),
            "currency": currency,
            "payment": instance.payment_id,
            "entry": instance.entry_id,
            "score": instance.score,
            "reason": instance.reason,
            "automatic": instance.automatic,
            "created_at": instance.created_at.isoformat() if instance.created_at else None,
            "undone_at": instance.undone_at.isoformat() if instance.undone_at else None,
        }


class ReconciliationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, CompanyGenericViewSet
):
    """Reconciliations of statement lines; made by ``POST``, undone by ``undo``."""

    model = Reconciliation
    serializer_class = ReconciliationSerializer
    select_related = ("line", "company")
    ordering_fields = ["created_at", "id"]
    action_perms = {
        "create": "add",
        "undo": "change",
        "suggestions": "banking.view_statementline",
        "auto": "add",
    }

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        line = self.request.query_params.get("line")
        if line and line.isdigit():
            queryset = queryset.filter(line_id=int(line))
        state = self.request.query_params.get("state")
        if state:
            queryset = queryset.filter(state=state)
        return queryset

    def _line(self, pk: Any) -> StatementLine:
        found = (
            StatementLine.objects.for_company(self.request.company)  # type: ignore[attr-defined]
            .filter(pk=pk)
            .first()
        )
        if found is None:
            raise serializers.ValidationError({"line": ["Unknown statement line."]})
        return found

    @extend_schema(request=ReconcileSerializer, responses=ReconciliationSerializer(many=True))
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ReconcileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        line = self._line(values["line"])
        kind = values["kind"]
        user = request.user
        made: list[Reconciliation]
        if kind == "invoices":
            made = self.call_service(
                rec.reconcile_invoices,
                line=line,
                allocations=[dict(a) for a in values.get("allocations", [])],
                write_off=values.get("write_off", False),
                user=user,
            )
        elif kind == "ledger":
            made = [
                self.call_service(
                    rec.reconcile_ledger,
                    line=line,
                    entry_lines=values.get("entry_lines", []),
                    user=user,
                )
            ]
        elif kind == "entry":
            made = [
                self.call_service(
                    rec.reconcile_entry,
                    line=line,
                    account=values.get("account", ""),
                    amount=values.get("amount"),
                    description=values.get("description", ""),
                    user=user,
                )
            ]
        else:
            if "batch" not in values:
                raise serializers.ValidationError({"batch": ["Choose a payment batch."]})
            made = self.call_service(
                rec.reconcile_batch, line=line, batch=values["batch"], user=user
            )
        return Response(
            ReconciliationSerializer(made, many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=None, responses=ReconciliationSerializer)
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str | None = None) -> Response:
        """Reverse what the reconciliation posted and reopen the statement line."""
        found = self.call_service(
            rec.reconciliation_undo, instance=self.get_object(), user=request.user
        )
        return Response(ReconciliationSerializer(found).data)

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, operation_id="banking_reconciliation_suggestions"
    )
    @action(detail=False, methods=["get"])
    def suggestions(self, request: Request) -> Response:
        """The scored proposals for ``?line=ID``, best first, with their reasons."""
        line = self._line(request.query_params.get("line") or 0)
        return Response(
            {
                "line": line.pk,
                "open_amount": money_text(line.open_amount, line.currency),
                "proposals": [
                    {
                        "score": s.score,
                        "reasons": list(s.reasons),
                        "difference": money_text(s.difference, line.currency),
                        "rule": s.rule.pk if s.rule else None,
                        "targets": [
                            {
                                "kind": t.kind,
                                "id": t.pk,
                                "label": t.label,
                                "detail": t.detail,
                                "date": t.date.isoformat(),
                                "amount": money_text(t.amount, line.currency),
                            }
                            for t in s.targets
                        ],
                    }
                    for s in rec.suggestions(line)
                ],
            }
        )

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def auto(self, request: Request) -> Response:
        """Apply the confident proposals of every open line (or one bank account's)."""
        account = None
        raw = request.data.get("bank_account") if hasattr(request.data, "get") else None
        if raw not in (None, ""):
            account = (
                BankAccount.objects.for_company(request.company)  # type: ignore[attr-defined]
                .filter(pk=raw)
                .first()
            )
            if account is None:
                raise serializers.ValidationError({"bank_account": ["Unknown bank account."]})
        result = rec.auto_reconcile(
            company=request.company,  # type: ignore[attr-defined]
            bank_account=account,
            user=request.user,
        )
        return Response(
            {
                "lines": result.lines,
                "applied": result.applied,
                "by_rule": result.by_rule,
                "unmatched": result.unmatched,
                "failed": [{"line": pk, "error": text} for pk, text in result.failed],
            }
        )


class CashViewSet(CompanyGenericViewSet):
    """Today's balance per bank account and in total, and the 13-week forecast."""

    permission_model = BankAccount
    action_perms = {"list": "view"}
    pagination_class = None

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="banking_cash")
    def list(self, request: Request) -> Response:
        company = request.company  # type: ignore[attr-defined]
        today = timezone.localdate()
        position = cash_position(company, today)
        forecast = cash_forecast(company, today)
        base = company.base_currency
        return Response(
            {
                "date": today.isoformat(),
                "currency": base,
                "total": money_text(position.total_base, base),
                "accounts": [
                    {
                        "id": p.account.pk,
                        "iban": p.account.iban,
                        "currency": p.account.currency,
                        "books": money_text(p.books, p.account.currency),
                        "bank": None if p.bank is None else money_text(p.bank, p.account.currency),
                        "bank_date": p.bank_date.isoformat() if p.bank_date else None,
                        "unreconciled_lines": p.unreconciled,
                    }
                    for p in position.accounts
                ],
                "forecast": [
                    {
                        "week": w.start.isoformat(),
                        "opening": money_text(w.opening, base),
                        "receivables": money_text(w.receivables, base),
                        "payables": money_text(w.payables, base),
                        "other_in": money_text(w.batches_in + w.recurring_in, base),
                        "other_out": money_text(w.batches_out + w.recurring_out, base),
                        "closing": money_text(w.closing, base),
                    }
                    for w in forecast.weeks
                ],
            }
        )


router.register("banking/reconciliations", ReconciliationViewSet, basename="banking-reconciliation")
router.register("banking/cash", CashViewSet, basename="banking-cash")

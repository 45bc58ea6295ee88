"""REST API of trading's settlement part (registered on the shared router).

- ``trading/instructions/``: list (filters ``status``, ``broker`` id, ``currency``,
  ``trade_date``, ``settlement_date_from``/``_to``, ``out_of_date``, ``q``) and retrieve;
  ``POST instructions/generate/`` with ``trade_date`` or ``trade_ids`` generates the
  instructions of current active trades that have none (201 with the ones made); actions
  ``POST instructions/{id}/approve/`` (a second person with
  ``trading.approve_settlementinstruction``), ``match/``, ``settle/`` (``settled_on``),
  ``fail/`` (``reason``), ``cancel/`` (``reason``), ``regenerate/`` (201 with the new
  instruction). A transition the state does not allow answers 400 naming ``status`` and
  writes nothing.
- ``trading/approval-limits/``: CRUD (``currency``, ``amount`` decimal text, ``active``).
- ``trading/settlement/fails/`` (``?as_of=``) and ``trading/settlement/projections/``
  (``?start=``, ``?days=``): the reports.
- ``trading/settings/``: the company's trading settings (a one-row list, retrieve, update:
  accounts and the journal by code).

Amounts travel as decimal strings of the instruction's currency; quantities and prices as
decimal strings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.core.api import (
    CompanyGenericViewSet,
    CompanyModelSerializer,
    CompanyModelViewSet,
    CompanyReadOnlyModelViewSet,
    idempotent,
    router,
)
from trastienda.core.money import Money
from trastienda.trading import settlement
from trastienda.trading.api import ScaledText, TradeMoneyText
from trastienda.trading.forms import decimal_text
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    ApprovalLimit,
    SettlementInstruction,
    TradingSettings,
)
from trastienda.trading.views_settlement import (
    ApprovalLimitFilterSet,
    SettlementInstructionFilterSet,
)


def _username(user: Any) -> str | None:
    return user.username if user is not None else None


class InstructionSerializer(CompanyModelSerializer):
    trade_version = serializers.IntegerField(source="trade_version.version", read_only=True)
    account = serializers.CharField(source="account.code", read_only=True)
    instrument = serializers.CharField(source="instrument.code", read_only=True)
    broker = serializers.CharField(source="broker.code", read_only=True)
    quantity = ScaledText(places=QUANTITY_PLACES)
    price = ScaledText(places=PRICE_PLACES)
    gross_amount = TradeMoneyText()
    fees = TradeMoneyText()
    commission = TradeMoneyText()
    cash_amount = TradeMoneyText()
    out_of_date = serializers.SerializerMethodField()
    entry = serializers.CharField(source="entry.number", read_only=True, default=None)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, default=None)

    class Meta:
        model = SettlementInstruction
        fields = [
            "id",
            "trade_id",
            "trade_version",
            "status",
            "out_of_date",
            "account",
            "instrument",
            "broker",
            "side",
            "trade_date",
            "settlement_date",
            "quantity",
            "price",
            "currency",
            "gross_amount",
            "fees",
            "commission",
            "cash_amount",
            "fail_reason",
            "settled_on",
            "entry",
            "created_by",
            "created_at",
            "approved_by",
            "approved_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_out_of_date(self, obj: SettlementInstruction) -> bool:
        flag = getattr(obj, "out_of_date", None)
        return settlement.is_out_of_date(obj) if flag is None else bool(flag)


class GenerateSerializer(serializers.Serializer[Any]):
    trade_date = serializers.DateField(required=False, allow_null=True)
    trade_ids = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, allow_empty=True
    )


class GenerateResultSerializer(serializers.Serializer[Any]):
    created = InstructionSerializer(many=True)
    awaiting_approval = serializers.IntegerField()
    skipped = serializers.IntegerField()


class SettleSerializer(serializers.Serializer[Any]):
    settled_on = serializers.DateField(required=False, help_text="Default: today.")


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300)


class InstructionViewSet(CompanyReadOnlyModelViewSet):
    """Settlement instructions: the back office's booking of each trade."""

    model = SettlementInstruction
    serializer_class = InstructionSerializer
    filterset_class = SettlementInstructionFilterSet
    ordering_fields = ["settlement_date", "trade_date", "trade_id", "created_at"]
    select_related = (
        "company",
        "account",
        "instrument",
        "broker",
        "trade_version",
        "entry",
        "created_by",
        "approved_by",
    )
    action_perms = {
        "generate": "add",
        "approve": settlement.APPROVE_PERM,
        "match": "change",
        "settle": "change",
        "fail": "change",
        "cancel": "change",
        "regenerate": "change",
    }
    idempotent_actions = ("generate", "approve", "match", "settle", "fail", "cancel", "regenerate")

    def get_queryset(self) -> Any:
        return settlement.with_out_of_date(super().get_queryset())

    def _one(self, item: SettlementInstruction, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=item.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=GenerateSerializer, responses={201: GenerateResultSerializer})
    @action(detail=False, methods=["post"])
    def generate(self, request: Request) -> Any:
        """Instructions for the current active trades of ``trade_date`` (or ``trade_ids``)
        that have no live instruction."""

        def produce() -> Response:
            form = GenerateSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            result = self.call_service(
                settlement.instructions_generate,
                company=request.company,  # type: ignore[attr-defined]
                trade_date=form.validated_data.get("trade_date"),
                trade_ids=form.validated_data.get("trade_ids") or None,
                user=request.user,
            )
            created = list(
                self.get_queryset().filter(pk__in=[i.pk for i in result.created]).order_by("pk")
            )
            body = {
                "created": InstructionSerializer(
                    created, many=True, context=self.get_serializer_context()
                ).data,
                "awaiting_approval": result.awaiting_approval,
                "skipped": result.skipped,
            }
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, produce)

    @extend_schema(request=None, responses={200: InstructionSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Any:
        """Release an instruction awaiting approval (not by whoever generated it)."""
        item = self.get_object()
        return idempotent(
            request,
            lambda: self._one(
                self.call_service(
                    settlement.instruction_approve, instruction=item, user=request.user
                )
            ),
        )

    @extend_schema(request=None, responses={200: InstructionSerializer})
    @action(detail=True, methods=["post"])
    def match(self, request: Request, pk: str | None = None) -> Any:
        """The broker or custodian matched the instruction."""
        item = self.get_object()
        return idempotent(
            request,
            lambda: self._one(
                self.call_service(
                    settlement.instruction_mark_matched, instruction=item, user=request.user
                )
            ),
        )

    @extend_schema(request=SettleSerializer, responses={200: InstructionSerializer})
    @action(detail=True, methods=["post"])
    def settle(self, request: Request, pk: str | None = None) -> Any:
        """Settle on ``settled_on`` and post the ledger entry."""
        item = self.get_object()

        def produce() -> Response:
            form = SettleSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            settled_on = form.validated_data.get("settled_on") or timezone.localdate()
            return self._one(
                self.call_service(
                    settlement.instruction_settle,
                    instruction=item,
                    settled_on=settled_on,
                    user=request.user,
                )
            )

        return idempotent(request, produce)

    def _with_reason(self, request: Request, service: Any, item: SettlementInstruction) -> Any:
        def produce() -> Response:
            form = ReasonSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            return self._one(
                self.call_service(
                    service,
                    instruction=item,
                    reason=form.validated_data["reason"],
                    user=request.user,
                )
            )

        return idempotent(request, produce)

    @extend_schema(request=ReasonSerializer, responses={200: InstructionSerializer})
    @action(detail=True, methods=["post"])
    def fail(self, request: Request, pk: str | None = None) -> Any:
        """The instruction did not settle on its date."""
        return self._with_reason(request, settlement.instruction_fail, self.get_object())

    @extend_schema(request=ReasonSerializer, responses={200: InstructionSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Any:
        """Cancel (a settled instruction has its ledger entry reversed)."""
        return self._with_reason(request, settlement.instruction_cancel, self.get_object())

    @extend_schema(request=None, responses={201: InstructionSerializer})
    @action(detail=True, methods=["post"])
    def regenerate(self, request: Request, pk: str | None = None) -> Any:
        """Replace an out-of-date instruction by one from the trade's current version."""
        item = self.get_object()
        return idempotent(
            request,
            lambda: self._one(
                self.call_service(
                    settlement.instruction_regenerate, instruction=item, user=request.user
                ),
                status.HTTP_201_CREATED,
            ),
        )


class ApprovalLimitSerializer(CompanyModelSerializer):
    amount = serializers.CharField(help_text="Decimal text in the currency.")

    class Meta:
        model = ApprovalLimit
        fields = ["id", "currency", "amount", "active"]

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        data["amount"] = str(Money(int(instance.amount), instance.currency).to_decimal())
        return data


class ApprovalLimitViewSet(CompanyModelViewSet):
    """Amounts per currency above which an instruction needs a second person's approval."""

    model = ApprovalLimit
    serializer_class = ApprovalLimitSerializer
    filterset_class = ApprovalLimitFilterSet
    ordering_fields = ["currency"]
    select_related = ("company",)
    create_service = settlement.approval_limit_create
    update_service = settlement.approval_limit_update
    delete_service = settlement.approval_limit_delete


def _date(request: Request, name: str) -> dt.date:
    text = request.query_params.get(name)
    if not text:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise exceptions.ValidationError({name: ["Enter a date (YYYY-MM-DD)."]}) from exc


class FailsViewSet(CompanyGenericViewSet):
    """The fails report: failed instructions and live ones past their settlement date."""

    model = SettlementInstruction
    permission_model = SettlementInstruction
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def list(self, request: Request) -> Response:
        report = settlement.fails_report(request.company, _date(request, "as_of"))  # type: ignore[attr-defined]
        return Response(
            {
                "as_of": report.as_of.isoformat(),
                "brokers": [
                    {
                        "broker": group.broker.code,
                        "count": group.count,
                        "oldest": group.oldest,
                        "cash": {
                            currency: str(Money(value, currency).to_decimal())
                            for currency, value in sorted(group.cash.items())
                        },
                        "instructions": [
                            {
                                "id": row.instruction.pk,
                                "trade_id": row.instruction.trade_id,
                                "status": row.instruction.status,
                                "settlement_date": row.instruction.settlement_date.isoformat(),
                                "age": row.age,
                                "instrument": row.instruction.instrument.code,
                                "currency": row.instruction.currency,
                                "cash_amount": str(
                                    Money(
                                        row.instruction.cash_amount, row.instruction.currency
                                    ).to_decimal()
                                ),
                                "fail_reason": row.instruction.fail_reason,
                            }
                            for row in group.rows
                        ],
                    }
                    for group in report.brokers
                ],
            }
        )


class ProjectionsViewSet(CompanyGenericViewSet):
    """Cash by date and currency, securities by date and instrument, of live instructions."""

    model = SettlementInstruction
    permission_model = SettlementInstruction
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("days", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def list(self, request: Request) -> Response:
        try:
            days = int(request.query_params.get("days", 10))
        except ValueError as exc:
            raise exceptions.ValidationError({"days": ["Enter a whole number."]}) from exc
        result = self.call_service(
            settlement.projections,
            company=request.company,  # type: ignore[attr-defined]
            start=_date(request, "start"),
            days=days,
        )
        return Response(
            {
                "dates": [day.isoformat() for day in result.dates],
                "cash": {
                    currency: [
                        str(Money(v, currency).to_decimal()) for v in result.cash_row(currency)
                    ]
                    for currency in result.cash
                },
                "securities": {
                    instrument.code: [
                        decimal_text(v, QUANTITY_PLACES) for v in result.securities_row(instrument)
                    ]
                    for instrument in result.securities
                },
            }
        )


class SettingsSerializer(CompanyModelSerializer):
    class Meta:
        model = TradingSettings
        fields = ["id", *settlement.SETTINGS_FIELDS]

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        for name in (*settlement.ACCOUNT_SETTINGS, "journal"):
            fields[name] = serializers.CharField(
                required=False,
                allow_null=True,
                allow_blank=True,
                help_text="The account's (journal's) code; empty to clear.",
            )
        return fields

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        for name in (*settlement.ACCOUNT_SETTINGS, "journal"):
            related = getattr(instance, name)
            data[name] = related.code if related is not None else None
        return data


class SettingsViewSet(mixins.UpdateModelMixin, CompanyReadOnlyModelViewSet):
    """The company's trading settings: one row, made on first use."""

    model = TradingSettings
    serializer_class = SettingsSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        company = getattr(self.request, "company", None)
        if company is not None and not getattr(self, "swagger_fake_view", False):
            settlement.trading_settings(company)
        return super().get_queryset()

    def perform_update(self, serializer: Any) -> None:
        data = {k: (v if v != "" else None) for k, v in serializer.validated_data.items()}
        serializer.instance = self.call_service(
            settlement.settings_update,
            serializer,
            company=self.request.company,  # type: ignore[attr-defined]
            user=self.request.user,
            **data,
        )


router.register("trading/instructions", InstructionViewSet, basename="trading-instruction")
router.register("trading/approval-limits", ApprovalLimitViewSet, basename="trading-approvallimit")
router.register("trading/settlement/fails", FailsViewSet, basename="trading-settlement-fails")
router.register(
    "trading/settlement/projections",
    ProjectionsViewSet,
    basename="trading-settlement-projections",
)
router.register("trading/settings", SettingsViewSet, basename="trading-settings")

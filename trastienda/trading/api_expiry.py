"""REST API of trading's expiry part (registered on the shared router), under
``/api/v1/trading/``.

- ``obligations/``: CRUD of the dated obligations through
  :mod:`trastienda.trading.expiry` (``owner`` by username; filters ``kind``, ``done``,
  ``due_from``, ``due_to``, ``q``).
- ``expiry-runs/``: list and retrieve (with each run's events and resulting trades);
  ``POST`` with a ``date`` runs the expiry process of that date
  (:func:`~trastienda.trading.expiry.expiry_process`: 201 with the run, or 400 naming the
  problem — a missing closing price, a date ahead, nothing new to process — and nothing
  written); ``GET expiry-runs/preview/?date=`` says what a run would do.
- ``calendar/``: ``GET ?from=YYYY-MM-DD&to=YYYY-MM-DD[&kind=...]`` the calendar's events
  (default: today and 90 days on), needs ``trading.view_trade``.

Quantities, prices and amounts travel as decimal strings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
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
from trastienda.core.rest import django_error_detail
from trastienda.trading import expiry
from trastienda.trading.models import PRICE_PLACES, QUANTITY_PLACES, ExpiryRun, Obligation
from trastienda.trading.views_expiry import ExpiryRunFilterSet, ObligationFilterSet

CALENDAR_DEFAULT_DAYS = 90


def _text(value: int | None, places: int) -> str | None:
    return None if value is None else expiry._text(value, places)


class ObligationSerializer(CompanyModelSerializer):
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
        help_text="Username of a member of the company.",
    )

    class Meta:
        model = Obligation
        fields = ["id", *expiry.OBLIGATION_FIELDS]


class ObligationViewSet(CompanyModelViewSet):
    """Dated obligations kept in the expiry calendar (contract renewals, filings...)."""

    model = Obligation
    serializer_class = ObligationSerializer
    filterset_class = ObligationFilterSet
    ordering_fields = ["due_date", "title"]
    select_related = ("company", "owner")
    create_service = expiry.obligation_create
    update_service = expiry.obligation_update
    delete_service = expiry.obligation_delete


class ExpiryEventSerializer(serializers.Serializer[Any]):
    instrument = serializers.CharField(source="instrument.code")
    account = serializers.CharField(source="account.code")
    outcome = serializers.CharField()
    quantity = serializers.SerializerMethodField()
    reference_price = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    trades = serializers.SerializerMethodField()

    def get_quantity(self, obj: Any) -> str | None:
        return _text(obj.quantity, QUANTITY_PLACES)

    def get_reference_price(self, obj: Any) -> str | None:
        return _text(obj.reference_price, PRICE_PLACES)

    def get_amount(self, obj: Any) -> str:
        return str(Money(int(obj.amount), obj.currency).to_decimal())

    def get_trades(self, obj: Any) -> list[dict[str, Any]]:
        return [
            {"id": trade.pk, "trade_id": trade.trade_id}
            for trade in sorted(obj.trades.all(), key=lambda t: t.trade_id)
        ]


class ExpiryRunSerializer(CompanyModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )
    event_rows = ExpiryEventSerializer(many=True, read_only=True)

    class Meta:
        model = ExpiryRun
        fields = ["id", "date", "events", "trades", "created_by", "created_at", "event_rows"]
        read_only_fields = fields


class ExpiryRunRequestSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(help_text="The expiry or maturity date to process.")


class PlannedTradeSerializer(serializers.Serializer[Any]):
    instrument = serializers.CharField(source="instrument.code")
    side = serializers.CharField()
    quantity = serializers.CharField(source="quantity_text")
    price = serializers.CharField(source="price_text")


class PlannedEventSerializer(serializers.Serializer[Any]):
    instrument = serializers.CharField(source="instrument.code")
    account = serializers.CharField(source="account.code")
    outcome = serializers.CharField()
    quantity = serializers.CharField(source="quantity_text")
    reference_price = serializers.CharField(source="reference_text")
    amount = serializers.CharField(source="amount_text")
    currency = serializers.CharField()
    trades = PlannedTradeSerializer(many=True)
    processed_by = serializers.IntegerField(allow_null=True)


class ExpiryPlanSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    events = PlannedEventSerializer(many=True)
    skipped = PlannedEventSerializer(many=True)
    previous_runs = serializers.ListField(child=serializers.IntegerField())


def _validation(exc: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(django_error_detail(exc))


class ExpiryRunViewSet(CompanyReadOnlyModelViewSet):
    """Expiry runs; ``POST`` with a ``date`` runs the expiry process of that date."""

    model = ExpiryRun
    serializer_class = ExpiryRunSerializer
    filterset_class = ExpiryRunFilterSet
    ordering_fields = ["date", "created_at"]
    select_related = ("company", "created_by")
    prefetch_related = (
        "event_rows__instrument",
        "event_rows__account",
        "event_rows__trades",
    )
    action_perms = {"create": "add", "preview": "add"}
    idempotent_actions = ("create",)

    @extend_schema(request=ExpiryRunRequestSerializer, responses={201: ExpiryRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Run the expiry process of a date, all or nothing."""

        def produce() -> Response:
            form = ExpiryRunRequestSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            run = self.call_service(
                expiry.expiry_process,
                company=request.company,  # type: ignore[attr-defined]
                date=form.validated_data["date"],
                user=request.user,
            )
            run = self.get_queryset().get(pk=run.pk)
            return Response(
                ExpiryRunSerializer(run, context=self.get_serializer_context()).data,
                status=status.HTTP_201_CREATED,
            )

        return idempotent(request, produce)

    @extend_schema(
        parameters=[OpenApiParameter("date", OpenApiTypes.DATE, required=True)],
        responses={200: ExpiryPlanSerializer},
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def preview(self, request: Request) -> Response:
        """What the expiry process would do on ``date`` (nothing is written)."""
        try:
            plan = expiry.expiry_preview(
                company=request.company,  # type: ignore[attr-defined]
                date=request.query_params.get("date", ""),
            )
        except DjangoValidationError as exc:
            raise _validation(exc) from exc
        return Response(ExpiryPlanSerializer(plan).data)


class CalendarEventSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    key = serializers.CharField()
    title = serializers.CharField()
    instrument = serializers.SerializerMethodField()
    obligation = serializers.SerializerMethodField()
    position = serializers.SerializerMethodField()
    positions = serializers.SerializerMethodField()
    processed = serializers.BooleanField()
    done = serializers.BooleanField()

    def get_instrument(self, obj: Any) -> str | None:
        return obj.instrument.code if obj.instrument is not None else None

    def get_obligation(self, obj: Any) -> int | None:
        return obj.obligation.pk if obj.obligation is not None else None

    def get_position(self, obj: Any) -> str | None:
        return _text(obj.position, QUANTITY_PLACES)

    def get_positions(self, obj: Any) -> list[dict[str, Any]]:
        return [
            {"account": code, "quantity": _text(q, QUANTITY_PLACES)} for code, q in obj.positions
        ]


class CalendarViewSet(CompanyGenericViewSet):
    """The expiry calendar: expiries, maturities and obligations between two dates, with the
    open positions."""

    model = Obligation  # the company scoping; the events come from expiry.calendar_events
    serializer_class = CalendarEventSerializer
    action_perms = {"list": "trading.view_trade"}
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="Default: today."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Default: 90 days on."),
            OpenApiParameter(
                "kind", OpenApiTypes.STR, enum=list(expiry.EventKind.values), required=False
            ),
        ],
        responses={200: CalendarEventSerializer(many=True)},
    )
    def list(self, request: Request) -> Response:
        today = timezone.localdate()
        params = request.query_params
        kind = params.get("kind", "")
        try:
            events = expiry.calendar_events(
                request.company,  # type: ignore[attr-defined]
                params.get("from") or today,
                params.get("to") or today + dt.timedelta(days=CALENDAR_DEFAULT_DAYS),
                kinds=[kind] if kind else None,
                today=today,
            )
        except DjangoValidationError as exc:
            raise _validation(exc) from exc
        return Response(CalendarEventSerializer(events, many=True).data)


router.register("trading/obligations", ObligationViewSet, basename="trading-obligation")
router.register("trading/expiry-runs", ExpiryRunViewSet, basename="trading-expiryrun")
router.register("trading/calendar", CalendarViewSet, basename="trading-calendar")

__all__ = ["CalendarViewSet", "ExpiryRunViewSet", "ObligationViewSet"]

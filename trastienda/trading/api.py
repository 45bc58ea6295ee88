"""REST API of trading, under ``/api/v1/trading/``.

- ``desks/``, ``traders/``, ``brokers/``, ``accounts/``, ``instruments/``: CRUD of the
  reference data through :mod:`trastienda.trading.reference` (related records by code:
  a trader's ``desk``, an instrument's ``underlying``).
- ``trades/``: list (current versions; ``?all_versions=true`` lists every version) and
  retrieve, filtered like the page (``trade_date_from``, ``trade_date_to``, ``account``,
  ``trader``, ``desk``, ``instrument``, ``broker`` by id, ``side``, ``status``, ``late``,
  ``q`` the trade id); ``POST`` books a trade
  (:func:`~trastienda.trading.services.trade_book`, fields as the service reads them: codes,
  decimal strings); ``POST trades/{id}/amend/`` adds a version with the fields sent;
  ``POST trades/{id}/cancel/`` with a ``reason`` cancels; ``GET trades/{id}/versions/``
  lists every version of the trade; ``POST trades/import/`` (multipart ``file``) imports a
  CSV or XLSX file all or nothing: 201 with the counts, or 400 with the errors keyed
  ``line N.field`` and nothing written.
- ``confirmations/``: list and retrieve the brokers' confirmations; ``POST
  confirmations/import/`` (multipart ``file``, optional ``broker`` code) imports a file all or
  nothing (400 with errors keyed ``line N``/``file``/``broker``).
- ``reconciliation-runs/``: list and retrieve; ``POST`` with ``trade_date`` reconciles it.
- ``breaks/``: list and retrieve (filters ``state``, ``kind``, ``against`` (``broker`` or
  ``books``), ``broker``, ``trade_date``, ``owner``); ``POST breaks/{id}/assign/``
  (``owner`` username, ``comment``) and ``POST breaks/{id}/resolve/`` (``reason``).

Quantities, prices and amounts travel as decimal strings (amounts in the trade's currency).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.core.api import (
    CompanyModelSerializer,
    CompanyModelViewSet,
    CompanyReadOnlyModelViewSet,
    idempotent,
    router,
)
from trastienda.core.money import Money
from trastienda.trading import reconciliation, reference, services
from trastienda.trading.filters import (
    BreakFilterSet,
    BrokerFilterSet,
    ConfirmationFilterSet,
    DeskFilterSet,
    InstrumentFilterSet,
    ReconciliationRunFilterSet,
    TradeFilterSet,
    TraderFilterSet,
    TradingAccountFilterSet,
    wants_all_versions,
)
from trastienda.trading.forms import decimal_text
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    Break,
    Broker,
    Confirmation,
    Desk,
    Instrument,
    ReconciliationRun,
    Trade,
    Trader,
    TradingAccount,
)

# --- reference data ---------------------------------------------------------------------------


class DeskSerializer(CompanyModelSerializer):
    class Meta:
        model = Desk
        fields = ["id", *reference.DESK_FIELDS]


class TraderSerializer(CompanyModelSerializer):
    desk = serializers.SlugRelatedField(
        slug_field="code", queryset=Desk.objects.all(), help_text="The desk's code."
    )

    class Meta:
        model = Trader
        fields = ["id", *reference.TRADER_FIELDS]


class BrokerSerializer(CompanyModelSerializer):
    class Meta:
        model = Broker
        fields = ["id", *reference.BROKER_FIELDS, "confirmation_mapping"]
        read_only_fields = ["confirmation_mapping"]


class TradingAccountSerializer(CompanyModelSerializer):
    desk = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Desk.objects.all(),
        required=False,
        allow_null=True,
        help_text="The desk's code.",
    )

    class Meta:
        model = TradingAccount
        fields = ["id", *reference.ACCOUNT_FIELDS]


class InstrumentSerializer(CompanyModelSerializer):
    underlying = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Instrument.objects.all(),
        required=False,
        allow_null=True,
        help_text="The underlying instrument's code (options).",
    )
    market = serializers.CharField(max_length=10, help_text="A calendar's code: XMAD, XMIL...")

    class Meta:
        model = Instrument
        fields = ["id", *reference.INSTRUMENT_FIELDS]


class DeskViewSet(CompanyModelViewSet):
    """Trading desks."""

    model = Desk
    serializer_class = DeskSerializer
    filterset_class = DeskFilterSet
    ordering_fields = ["code", "name"]
    create_service = reference.desk_create
    update_service = reference.desk_update
    delete_service = reference.desk_delete


class TraderViewSet(CompanyModelViewSet):
    """Traders, each on a desk."""

    model = Trader
    serializer_class = TraderSerializer
    filterset_class = TraderFilterSet
    ordering_fields = ["code", "name"]
    select_related = ("company", "desk")
    create_service = reference.trader_create
    update_service = reference.trader_update
    delete_service = reference.trader_delete


class BrokerViewSet(CompanyModelViewSet):
    """Brokers and counterparties."""

    model = Broker
    serializer_class = BrokerSerializer
    filterset_class = BrokerFilterSet
    ordering_fields = ["code", "name"]
    create_service = reference.broker_create
    update_service = reference.broker_update
    delete_service = reference.broker_delete
    action_perms = {"mapping": "view", "mapping_update": "change"}

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def mapping(self, request: Request, pk: str | None = None) -> Response:
        """How this broker's CSV/XLSX confirmations are read (``{}`` when not set)."""
        return Response(self.get_object().confirmation_mapping or {})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    @mapping.mapping.put
    def mapping_update(self, request: Request, pk: str | None = None) -> Response:
        """Replace the confirmation column mapping: ``{"broker_ref": "Exec ID", "trade_ref":
        "Order", "trade_date": "Date", "instrument": "ISIN", "side": "Side", "quantity": "Qty",
        "price": "Price", "currency": "Ccy", "account": "Account", "fees": "Commission",
        "date_format": "%d/%m/%Y", "decimal_separator": ","}``; ``{}`` clears it. A setting
        that cannot be used is a 400 naming it, and nothing is written."""
        broker = self.get_object()
        data = request.data
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"mapping": ["Send a JSON object."]})
        saved = self.call_service(
            reference.broker_mapping_save, instance=broker, mapping=data, user=request.user
        )
        return Response(saved.confirmation_mapping)


class TradingAccountViewSet(CompanyModelViewSet):
    """Client and house trading accounts."""

    model = TradingAccount
    serializer_class = TradingAccountSerializer
    filterset_class = TradingAccountFilterSet
    ordering_fields = ["code", "name"]
    select_related = ("company", "desk")
    create_service = reference.trading_account_create
    update_service = reference.trading_account_update
    delete_service = reference.trading_account_delete


class InstrumentViewSet(CompanyModelViewSet):
    """Instruments: equities, ETFs, bonds, futures, options and FX forwards."""

    model = Instrument
    serializer_class = InstrumentSerializer
    filterset_class = InstrumentFilterSet
    ordering_fields = ["code", "name", "type"]
    select_related = ("company", "underlying")
    create_service = reference.instrument_create
    update_service = reference.instrument_update
    delete_service = reference.instrument_delete


def file_import(
    request: Request,
    form_class: type[serializers.Serializer[Any]],
    importer: Any,
    counts: tuple[str, ...],
    **extra: Any,
) -> Response:
    """The uploaded ``file`` through ``importer`` (a service, all or nothing): 201 with the
    result's ``counts``, or 400 with the errors by place (``line N.field``) and nothing
    written. ``extra`` maps the importer's other arguments to the form's fields."""
    from trastienda.core.errors import errors_by_place

    form = form_class(data=request.data)
    form.is_valid(raise_exception=True)
    upload = form.validated_data["file"]
    try:
        result = importer(
            company=request.company,  # type: ignore[attr-defined]
            content=upload.read(),
            filename=upload.name or "",
            user=request.user,
            **{name: form.validated_data.get(field) or None for name, field in extra.items()},
        )
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(dict(errors_by_place(exc))) from exc
    return Response(
        {name: getattr(result, name) for name in counts}, status=status.HTTP_201_CREATED
    )


# --- trades -----------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class ScaledText(serializers.Field):
    """An integer of 10^-places units as a decimal string; read only."""

    def __init__(self, *, places: int, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.places = places

    def to_representation(self, value: Any) -> Any:
        return decimal_text(value, self.places)


@extend_schema_field(OpenApiTypes.STR)
class TradeMoneyText(serializers.Field):
    """Integer minor units of the trade's currency as a decimal string; read only."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return (super().get_attribute(instance), instance.currency)

    def to_representation(self, value: Any) -> Any:
        minor, currency = value
        return str(Money(int(minor), currency).to_decimal())


class TradeSerializer(CompanyModelSerializer):
    account = serializers.CharField(source="account.code", read_only=True)
    trader = serializers.CharField(source="trader.code", read_only=True)
    desk = serializers.CharField(source="trader.desk.code", read_only=True)
    instrument = serializers.CharField(source="instrument.code", read_only=True)
    broker = serializers.CharField(source="broker.code", read_only=True)
    quantity = ScaledText(places=QUANTITY_PLACES)
    price = ScaledText(places=PRICE_PLACES)
    gross_amount = TradeMoneyText()
    fees = TradeMoneyText()
    commission = TradeMoneyText()
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Trade
        fields = [
            "id",
            "trade_id",
            "version",
            "is_current",
            "status",
            "executed_at",
            "trade_date",
            "settlement_date",
            "account",
            "trader",
            "desk",
            "instrument",
            "broker",
            "side",
            "quantity",
            "price",
            "currency",
            "gross_amount",
            "fees",
            "commission",
            "late",
            "source",
            "comment",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


def _text_field(help_text: str, *, required: bool = False, max_length: int = 60) -> Any:
    return serializers.CharField(
        required=required, allow_blank=not required, max_length=max_length, help_text=help_text
    )


class TradeAmendSerializer(serializers.Serializer[Any]):
    """The fields of a trade as the services read them: codes and decimal strings."""

    executed_at = _text_field("ISO 8601 date-time; naive: the company's time zone.")
    trade_date = _text_field("YYYY-MM-DD; default: the date of executed_at.")
    settlement_date = _text_field("YYYY-MM-DD; default: the market's convention.")
    account = _text_field("Trading account code.")
    trader = _text_field("Trader code.")
    instrument = _text_field("Instrument code or ISIN.")
    broker = _text_field("Broker code.")
    side = serializers.ChoiceField(
        choices=Trade.Side.choices, required=False, help_text="buy or sell."
    )
    quantity = _text_field("Decimal string, up to 6 decimals.")
    price = _text_field("Decimal string, up to 8 decimals.")
    currency = _text_field("Default and only value: the instrument's currency.", max_length=3)
    fees = _text_field("Decimal string in the currency.")
    commission = _text_field("Decimal string in the currency.")
    comment = _text_field("Free text.", max_length=300)


class TradeBookSerializer(TradeAmendSerializer):
    trade_id = _text_field("The front office's id of the trade.", required=True)


class TradeCancelSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300, help_text="Why the trade is cancelled.")


class TradeImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="CSV or XLSX with a header row of the trade fields.")


class TradeImportResultSerializer(serializers.Serializer[Any]):
    booked = serializers.IntegerField()
    amended = serializers.IntegerField()
    late = serializers.IntegerField()


def _given(data: dict[str, Any]) -> dict[str, Any]:
    """The fields a client sent (blank ones as empty text: the service decides)."""
    return {name: value for name, value in data.items()}


class TradeViewSet(CompanyReadOnlyModelViewSet):
    """Trades (their versions). Booking, amending, cancelling and importing go through the
    trade services; a trade is never updated or deleted in place."""

    model = Trade
    serializer_class = TradeSerializer
    filterset_class = TradeFilterSet
    ordering_fields = ["trade_date", "executed_at", "trade_id", "created_at"]
    select_related = (
        "company",
        "account",
        "trader",
        "trader__desk",
        "instrument",
        "broker",
        "created_by",
    )
    action_perms = {
        "create": "add",
        "amend": "change",
        "cancel": "change",
        "versions": "view",
        "import_file": "add",
    }
    idempotent_actions = ("create", "amend", "cancel", "import_file")

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        if self.action == "list" and not wants_all_versions(self.request.query_params):
            queryset = queryset.filter(is_current=True)
        return queryset

    def _trade(self, trade: Trade, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            TradeSerializer(trade, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(request=TradeBookSerializer, responses={201: TradeSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Book a trade (version 1)."""

        def produce() -> Response:
            form = TradeBookSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            trade = self.call_service(
                services.trade_book,
                company=request.company,  # type: ignore[attr-defined]
                user=request.user,
                source="api",
                **_given(form.validated_data),
            )
            return self._trade(trade, status.HTTP_201_CREATED)

        return idempotent(request, produce)

    @extend_schema(request=TradeAmendSerializer, responses={201: TradeSerializer})
    @action(detail=True, methods=["post"])
    def amend(self, request: Request, pk: str | None = None) -> Any:
        """A new version of the trade with the fields sent; the others stay."""
        trade = self.get_object()

        def produce() -> Response:
            form = TradeAmendSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            if not form.validated_data:
                raise exceptions.ValidationError(
                    {"non_field_errors": ["Send the fields to change."]}
                )
            amended = self.call_service(
                services.trade_amend,
                company=request.company,  # type: ignore[attr-defined]
                trade_id=trade.trade_id,
                user=request.user,
                source="api",
                **_given(form.validated_data),
            )
            return self._trade(amended, status.HTTP_201_CREATED)

        return idempotent(request, produce)

    @extend_schema(request=TradeCancelSerializer, responses={201: TradeSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Any:
        """A cancelled version of the trade, with the reason."""
        trade = self.get_object()

        def produce() -> Response:
            form = TradeCancelSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            cancelled = self.call_service(
                services.trade_cancel,
                company=request.company,  # type: ignore[attr-defined]
                trade_id=trade.trade_id,
                reason=form.validated_data["reason"],
                user=request.user,
                source="api",
            )
            return self._trade(cancelled, status.HTTP_201_CREATED)

        return idempotent(request, produce)

    @extend_schema(responses={200: TradeSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """Every version of the trade, oldest first."""
        trade = self.get_object()
        versions = self.get_queryset().filter(trade_id=trade.trade_id).order_by("version")
        return Response(
            TradeSerializer(versions, many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(
        request={"multipart/form-data": TradeImportSerializer},
        responses={201: TradeImportResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Any:
        """Import a CSV or XLSX file of trades, all or nothing; errors keyed ``line N.field``."""
        return idempotent(request, lambda: self._import(request))

    def _import(self, request: Request) -> Response:
        return file_import(
            request, TradeImportSerializer, services.trades_import, ("booked", "amended", "late")
        )


# --- confirmations and reconciliation ---------------------------------------------------------


class ConfirmationSerializer(CompanyModelSerializer):
    broker = serializers.CharField(source="broker.code", read_only=True)
    instrument = serializers.CharField(source="instrument.code", read_only=True)
    account = serializers.CharField(
        source="account.code", read_only=True, allow_null=True, default=None
    )
    quantity = ScaledText(places=QUANTITY_PLACES)
    price = ScaledText(places=PRICE_PLACES)
    fees = TradeMoneyText()

    class Meta:
        model = Confirmation
        fields = [
            "id",
            "broker",
            "broker_ref",
            "trade_ref",
            "trade_date",
            "trade_time",
            "settlement_date",
            "instrument",
            "account",
            "side",
            "quantity",
            "price",
            "currency",
            "fees",
            "state",
            "source",
            "file_hash",
            "imported_at",
        ]
        read_only_fields = fields


class ConfirmationImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="FIX 4.4 execution reports, or the broker's CSV/XLSX.")
    broker = serializers.CharField(
        required=False, allow_blank=True, help_text="Broker code; required for CSV/XLSX."
    )


class ConfirmationImportResultSerializer(serializers.Serializer[Any]):
    imported = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class ConfirmationViewSet(CompanyReadOnlyModelViewSet):
    """The brokers' confirmations; they come only from imported files."""

    model = Confirmation
    serializer_class = ConfirmationSerializer
    filterset_class = ConfirmationFilterSet
    ordering_fields = ["trade_date", "imported_at", "broker_ref"]
    select_related = ("company", "broker", "instrument", "account")
    action_perms = {"import_file": "add"}
    idempotent_actions = ("import_file",)

    @extend_schema(
        request={"multipart/form-data": ConfirmationImportSerializer},
        responses={201: ConfirmationImportResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Any:
        """Import a broker's file, all or nothing; errors keyed ``line N``/``file``/``broker``."""
        return idempotent(request, lambda: self._import(request))

    def _import(self, request: Request) -> Response:
        return file_import(
            request,
            ConfirmationImportSerializer,
            reconciliation.confirmations_import,
            ("imported", "cancelled"),
            broker="broker",
        )


class ReconciliationRunSerializer(CompanyModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "trade_date",
            "trades",
            "confirmations",
            "instructions",
            "matched",
            "breaks",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ReconcileRequestSerializer(serializers.Serializer[Any]):
    trade_date = serializers.DateField(help_text="The trade date to reconcile (YYYY-MM-DD).")


class ReconciliationRunViewSet(CompanyReadOnlyModelViewSet):
    """Reconciliation runs; ``POST`` with a ``trade_date`` runs one."""

    model = ReconciliationRun
    serializer_class = ReconciliationRunSerializer
    filterset_class = ReconciliationRunFilterSet
    ordering_fields = ["trade_date", "created_at"]
    select_related = ("company", "created_by")
    action_perms = {"create": "add"}
    idempotent_actions = ("create",)

    @extend_schema(request=ReconcileRequestSerializer, responses={201: ReconciliationRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Reconcile the trades of a date against the confirmations."""

        def produce() -> Response:
            form = ReconcileRequestSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            run = self.call_service(
                reconciliation.trades_reconcile,
                company=request.company,  # type: ignore[attr-defined]
                trade_date=form.validated_data["trade_date"],
                user=request.user,
            )
            return Response(
                ReconciliationRunSerializer(run, context=self.get_serializer_context()).data,
                status=status.HTTP_201_CREATED,
            )

        return idempotent(request, produce)


class BreakSerializer(CompanyModelSerializer):
    broker = serializers.CharField(source="broker.code", read_only=True)
    owner = serializers.CharField(
        source="owner.username", read_only=True, allow_null=True, default=None
    )
    first_run = serializers.IntegerField(source="first_run_id", read_only=True)
    last_run = serializers.IntegerField(source="last_run_id", read_only=True)

    class Meta:
        model = Break
        fields = [
            "id",
            "kind",
            "against",
            "state",
            "trade_date",
            "broker",
            "instrument",
            "account",
            "side",
            "trades",
            "confirmations",
            "instructions",
            "our_value",
            "broker_value",
            "difference",
            "owner",
            "comment",
            "resolution",
            "first_run",
            "last_run",
            "opened_at",
            "resolved_at",
        ]
        read_only_fields = fields


class BreakAssignSerializer(serializers.Serializer[Any]):
    owner = serializers.CharField(
        required=False, allow_blank=True, help_text="Username of a member; blank: no owner."
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class BreakResolveSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300, help_text="How the break was resolved.")


class BreakViewSet(CompanyReadOnlyModelViewSet):
    """Breaks found by the reconciliation runs; assign and resolve them."""

    model = Break
    serializer_class = BreakSerializer
    filterset_class = BreakFilterSet
    ordering_fields = ["trade_date", "opened_at", "kind"]
    select_related = ("company", "broker", "owner")
    action_perms = {"assign": "change", "resolve": "change"}
    idempotent_actions = ("assign", "resolve")

    def _break(self, item: Break) -> Response:
        return Response(BreakSerializer(item, context=self.get_serializer_context()).data)

    @extend_schema(request=BreakAssignSerializer, responses={200: BreakSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Any:
        """Give the break an owner (a member of the company) and add to its comment."""
        from trastienda.trading.filters import company_members

        item = self.get_object()

        def produce() -> Response:
            form = BreakAssignSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            username = (form.validated_data.get("owner") or "").strip()
            owner = None
            if username:
                owner = (
                    company_members(request.company)  # type: ignore[attr-defined]
                    .filter(username=username)
                    .first()
                )
                if owner is None:
                    raise exceptions.ValidationError({"owner": ["Not a member of the company."]})
            updated = self.call_service(
                reconciliation.break_assign,
                instance=item,
                owner=owner,
                comment=form.validated_data.get("comment") or "",
            )
            return self._break(updated)

        return idempotent(request, produce)

    @extend_schema(request=BreakResolveSerializer, responses={200: BreakSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Any:
        """Close the break with the reason."""
        item = self.get_object()

        def produce() -> Response:
            form = BreakResolveSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            resolved = self.call_service(
                reconciliation.break_resolve,
                instance=item,
                reason=form.validated_data["reason"],
                user=request.user,
            )
            return self._break(resolved)

        return idempotent(request, produce)


router.register("trading/desks", DeskViewSet, basename="trading-desk")
router.register("trading/traders", TraderViewSet, basename="trading-trader")
router.register("trading/brokers", BrokerViewSet, basename="trading-broker")
router.register("trading/accounts", TradingAccountViewSet, basename="trading-account")
router.register("trading/instruments", InstrumentViewSet, basename="trading-instrument")
router.register("trading/trades", TradeViewSet, basename="trading-trade")
router.register("trading/confirmations", ConfirmationViewSet, basename="trading-confirmation")
router.register(
    "trading/reconciliation-runs", ReconciliationRunViewSet, basename="trading-reconciliationrun"
)
router.register("trading/breaks", BreakViewSet, basename="trading-break")

__all__ = [
    "BreakViewSet",
    "BrokerViewSet",
    "ConfirmationViewSet",
    "DeskViewSet",
    "InstrumentViewSet",
    "ReconciliationRunViewSet",
    "TradeViewSet",
    "TraderViewSet",
    "TradingAccountViewSet",
]

# The later parts register their endpoints on the same router.
from trastienda.trading import (  # noqa: E402, F401
    api_compliance,
    api_expiry,
    api_positions,
    api_settlement,
)

"""REST API of trading's positions part (registered on the shared router), under
``/api/v1/trading/``.

- ``prices/``: list (filters ``date_from``, ``date_to``, ``instrument`` id, ``source``, ``q``)
  and retrieve closing prices; ``POST`` sets one (``instrument`` code or ISIN, ``date``,
  ``close`` decimal string, at most 8 decimals; a different price of the day replaces it);
  ``POST prices/import/`` (multipart ``file``) imports a CSV or XLSX file all or nothing:
  201 with the counts, or 400 with the errors keyed ``line N.field`` and nothing written.
- ``positions/``: ``GET ?date=`` (default today) the positions as of that date, filtered by
  ``account``, ``instrument``, ``trader``, ``desk``, ``broker`` (codes).
- ``pnl/``: ``GET ?date=&group=`` the stored P&L of a date summed by ``trader`` (default),
  ``broker``, ``desk``, ``account`` or ``instrument``; ``POST {"date": ...}`` runs the P&L of
  that date (replacing its rows).

Quantities, prices and amounts travel as decimal strings (amounts in the instrument's
currency).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.core.api import (
    CompanyGenericViewSet,
    CompanyModelSerializer,
    CompanyReadOnlyModelViewSet,
    idempotent,
    router,
)
from trastienda.core.money import Money
from trastienda.trading import positions as book
from trastienda.trading.api import file_import
from trastienda.trading.forms import decimal_text
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    Broker,
    Desk,
    Instrument,
    PnlSnapshot,
    Price,
    Trader,
    TradingAccount,
)
from trastienda.trading.views_positions import PriceFilterSet


def _amount(minor: int | None, currency: str) -> str | None:
    return None if minor is None else str(Money(int(minor), currency).to_decimal())


# --- prices -----------------------------------------------------------------------------------


class PriceSerializer(CompanyModelSerializer):
    instrument = serializers.CharField(source="instrument.code", read_only=True)
    isin = serializers.CharField(source="instrument.isin", read_only=True)
    currency = serializers.CharField(source="instrument.currency", read_only=True)
    close = serializers.SerializerMethodField()

    class Meta:
        model = Price
        fields = ["id", "instrument", "isin", "currency", "date", "close", "source", "imported_at"]
        read_only_fields = fields

    def get_close(self, obj: Price) -> str:
        return decimal_text(obj.close, PRICE_PLACES)


class PriceSetSerializer(serializers.Serializer[Any]):
    instrument = serializers.CharField(max_length=40, help_text="Instrument code or ISIN.")
    date = serializers.DateField(help_text="YYYY-MM-DD.")
    close = serializers.CharField(max_length=40, help_text="Decimal string, up to 8 decimals.")


class PriceImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="CSV or XLSX with the header date, instrument, close.")


class PriceImportResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    replaced = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class PriceViewSet(CompanyReadOnlyModelViewSet):
    """End-of-day prices; set one with ``POST``, or import a file."""

    model = Price
    serializer_class = PriceSerializer
    filterset_class = PriceFilterSet
    ordering_fields = ["date", "imported_at"]
    select_related = ("company", "instrument")
    action_perms = {"create": "add", "import_file": "add"}
    idempotent_actions = ("create", "import_file")

    @extend_schema(request=PriceSetSerializer, responses={201: PriceSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Set the closing price of an instrument on a day."""

        def produce() -> Response:
            form = PriceSetSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            price = self.call_service(
                book.price_set,
                company=request.company,  # type: ignore[attr-defined]
                user=request.user,
                source="api",
                **form.validated_data,
            )
            return Response(
                PriceSerializer(price, context=self.get_serializer_context()).data,
                status=status.HTTP_201_CREATED,
            )

        return idempotent(request, produce)

    @extend_schema(
        request={"multipart/form-data": PriceImportSerializer},
        responses={201: PriceImportResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Any:
        """Import a CSV or XLSX file of prices, all or nothing; errors keyed ``line N.field``."""
        return idempotent(request, lambda: self._import(request))

    def _import(self, request: Request) -> Response:
        return file_import(
            request,
            PriceImportSerializer,
            book.prices_import,
            ("created", "replaced", "unchanged"),
        )


# --- positions and P&L ------------------------------------------------------------------------


class DateQuerySerializer(serializers.Serializer[Any]):
    date = serializers.DateField(required=False)


class PnlQuerySerializer(DateQuerySerializer):
    group = serializers.ChoiceField(choices=book.PNL_GROUPS, required=False, default="trader")


class PnlRunSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(help_text="The date to compute (YYYY-MM-DD).")


FILTER_MODELS: dict[str, type[Any]] = {
    "account": TradingAccount,
    "instrument": Instrument,
    "trader": Trader,
    "desk": Desk,
    "broker": Broker,
}


class PositionViewSet(CompanyGenericViewSet):
    """Positions as of a date: per account, instrument, trader and broker, the open quantity,
    cost, closing price, market value, unrealised and realised P&L. Needs
    ``trading.view_pnlsnapshot``."""

    permission_model = PnlSnapshot
    action_perms = {"list": "view"}
    pagination_class = None

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("date", OpenApiTypes.DATE, description="Default: today."),
            *(
                OpenApiParameter(name, OpenApiTypes.STR, description=f"The {name}'s code.")
                for name in FILTER_MODELS
            ),
        ],
    )
    def list(self, request: Request) -> Response:
        company = request.company  # type: ignore[attr-defined]
        query = DateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("date") or timezone.localdate()
        filters: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for name, model in FILTER_MODELS.items():
            code = (request.query_params.get(name) or "").strip()
            if not code:
                continue
            found = model.objects.for_company(company).filter(code=code).first()
            if found is None:
                errors[name] = [f"Unknown {name} {code}."]
            filters[name] = found
        if errors:
            raise exceptions.ValidationError(errors)
        rows = book.positions(company, day, filters)
        return Response(
            {
                "date": day,
                "cost_method": book.cost_method_of(company),
                "positions": [
                    {
                        "account": r.account.code,
                        "instrument": r.instrument.code,
                        "trader": r.trader.code,
                        "desk": r.desk.code,
                        "broker": r.broker.code,
                        "currency": r.currency,
                        "quantity": decimal_text(r.quantity, QUANTITY_PLACES),
                        "cost": _amount(r.cost, r.currency),
                        "close": None if r.close is None else decimal_text(r.close, PRICE_PLACES),
                        "close_date": r.close_date,
                        "market_value": _amount(r.market_value, r.currency),
                        "unrealised": _amount(r.unrealised, r.currency),
                        "realised": _amount(r.realised, r.currency),
                        "realised_to_date": _amount(r.realised_to_date, r.currency),
                        "fees": _amount(r.fees, r.currency),
                    }
                    for r in rows
                ],
            }
        )


class PnlViewSet(CompanyGenericViewSet):
    """The daily P&L: ``GET ?date=&group=`` reads the stored figures of a date summed by
    group; ``POST {"date": ...}`` computes them (``trading.add_pnlsnapshot``)."""

    permission_model = PnlSnapshot
    action_perms = {"list": "view", "create": "add"}
    idempotent_actions = ("create",)
    pagination_class = None

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "date", OpenApiTypes.DATE, description="Default: the latest date run."
            ),
            OpenApiParameter(
                "group",
                OpenApiTypes.STR,
                enum=list(book.PNL_GROUPS),
                description="Default: trader.",
            ),
        ],
    )
    def list(self, request: Request) -> Response:
        company = request.company  # type: ignore[attr-defined]
        query = PnlQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        runs = book.snapshot_dates(company, limit=1)
        day = query.validated_data.get("date") or (runs[0] if runs else timezone.localdate())
        group = query.validated_data.get("group") or "trader"
        items = book.pnl_report(company, day, group)
        return Response(
            {
                "date": day,
                "group": group,
                "rows": [
                    {
                        group: item.key.code,
                        "name": item.key.name,
                        "currency": item.currency,
                        "realised": _amount(item.realised, item.currency),
                        "realised_to_date": _amount(item.realised_to_date, item.currency),
                        "unrealised": _amount(item.unrealised, item.currency),
                        "total": _amount(item.total, item.currency),
                        "fees": _amount(item.fees, item.currency),
                        "unpriced": item.unpriced,
                    }
                    for item in items
                ],
            }
        )

    @extend_schema(request=PnlRunSerializer, responses={201: OpenApiTypes.OBJECT})
    def create(self, request: Request) -> Any:
        """Compute the positions and P&L of a date, replacing that date's figures."""

        def produce() -> Response:
            form = PnlRunSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            result = self.call_service(
                book.pnl_run,
                company=request.company,  # type: ignore[attr-defined]
                date=form.validated_data["date"],
                user=request.user,
            )
            return Response(
                {
                    "date": result.date,
                    "rows": result.rows,
                    "replaced": result.replaced,
                    "unpriced": result.unpriced,
                },
                status=status.HTTP_201_CREATED,
            )

        return idempotent(request, produce)


router.register("trading/prices", PriceViewSet, basename="trading-price")
router.register("trading/positions", PositionViewSet, basename="trading-position")
router.register("trading/pnl", PnlViewSet, basename="trading-pnl")

__all__ = ["PnlViewSet", "PositionViewSet", "PriceViewSet"]

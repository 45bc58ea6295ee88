"""REST API of collections (dunning), under ``/api/v1/billing/dunning/``.

- ``levels/``: the dunning levels (CRUD); ``fee`` is a decimal string in the company currency.
- ``runs/``: runs with their letters (list, retrieve); ``POST runs/propose/`` ``{"date"}``
  proposes one (201; 400 naming ``date`` when nothing is overdue), ``POST runs/{id}/confirm/``
  sends it, ``POST runs/{id}/discard/`` discards it, ``POST runs/{id}/include/`` and
  ``exclude/`` ``{"letters": [ids]}`` choose the letters of a proposed run.
- ``promises/``: promises to pay (CRUD); ``partner`` by code, ``invoice`` by id, ``amount`` a
  decimal string in the invoice's currency (optional).

Amounts are decimal strings with their ``currency``; a letter's ``credit_amount`` is the
customer's credit on account set against its ``overdue_amount`` (``total`` is the overdue
amount minus the credit plus interest and fee). Viewing needs ``billing.view_dunningrun``
(levels and promises: their own view permissions), proposing ``add_dunningrun``, the other
run actions ``change_dunningrun``. Validation is the services' (:mod:`trastienda.billing.
dunning`): a 400 naming the field, nothing written.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.billing import dunning
from trastienda.billing.models import (
    DunningLetter,
    DunningLevel,
    DunningRun,
    Invoice,
    Partner,
    PromiseToPay,
)
from trastienda.core.api import (
    CompanyModelSerializer,
    CompanyModelViewSet,
    CompanyReadOnlyModelViewSet,
    router,
)
from trastienda.core.filters import CompanyFilterSet
from trastienda.core.money import Money


def money_text(minor: int | None, currency: str) -> str | None:
    return None if minor is None else str(Money(int(minor), currency).to_decimal())


# --- levels -----------------------------------------------------------------------------------


class DunningLevelSerializer(CompanyModelSerializer):
    fee = serializers.DecimalField(
        max_digits=15,
        decimal_places=4,
        required=False,
        help_text=gettext_lazy("Fixed compensation claimed, in the company currency."),
    )

    class Meta:
        model = DunningLevel
        fields = [
            "id",
            "level",
            "name",
            "days_overdue",
            "fee",
            "charge_interest",
            "block_partner",
            "text_es",
            "text_it",
            "text_en",
        ]

    def to_representation(self, level: DunningLevel) -> dict[str, Any]:
        data = super().to_representation(level)
        data["fee"] = money_text(level.fee, level.company.base_currency)
        data["currency"] = level.company.base_currency
        return data


class DunningLevelFilterSet(CompanyFilterSet):
    search_fields = ("name",)

    class Meta:
        model = DunningLevel
        fields = ("block_partner", "charge_interest")


class DunningLevelViewSet(CompanyModelViewSet):
    """Dunning levels: days overdue, fee, interest, blocking and the letter texts."""

    model = DunningLevel
    serializer_class = DunningLevelSerializer
    filterset_class = DunningLevelFilterSet
    select_related = ("company",)
    ordering_fields = ["level", "days_overdue"]
    create_service = dunning.dunning_level_create
    update_service = dunning.dunning_level_update
    delete_service = dunning.dunning_level_delete


# --- runs -------------------------------------------------------------------------------------


class DunningLetterSerializer(serializers.Serializer[Any]):
    def to_representation(self, letter: DunningLetter) -> dict[str, Any]:
        currency = letter.currency
        invoices = sorted(letter.invoices.all(), key=lambda inv: (inv.date, inv.pk))
        return {
            "id": letter.pk,
            "partner": letter.partner.code,
            "partner_name": letter.partner.legal_name,
            "level": letter.level.level,
            "level_name": letter.level.name,
            "currency": currency,
            "invoices": [{"id": inv.pk, "number": str(inv)} for inv in invoices],
            "overdue_amount": money_text(letter.overdue_amount, currency),
            "credit_amount": money_text(letter.credit_amount, currency),
            "interest_amount": money_text(letter.interest_amount, currency),
            "fee_amount": money_text(letter.fee_amount, currency),
            "total": money_text(letter.total_amount, currency),
            "included": letter.included,
            "sent_at": letter.sent_at.isoformat() if letter.sent_at else None,
        }


class DunningRunSerializer(CompanyModelSerializer):
    state = serializers.CharField(
        read_only=True, help_text=gettext_lazy("proposed, confirmed or discarded.")
    )
    letters = serializers.SerializerMethodField()

    class Meta:
        model = DunningRun
        fields = ["id", "date", "state", "created_at", "confirmed_by", "confirmed_at", "letters"]
        read_only_fields = fields

    def get_letters(self, run: DunningRun) -> list[dict[str, Any]]:
        letters = sorted(run.letters.all(), key=lambda letter: (letter.partner.code, letter.pk))
        return [DunningLetterSerializer(letter).data for letter in letters]


class DunningRunFilterSet(CompanyFilterSet):
    search_fields = ("confirmed_by",)

    class Meta:
        model = DunningRun
        fields = {"state": ["exact"], "date": ["gte", "lte"]}


class ProposeSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(
        required=False, help_text=gettext_lazy("Overdue at this date (default: today).")
    )


class LettersSerializer(serializers.Serializer[Any]):
    letters = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class DunningRunViewSet(CompanyReadOnlyModelViewSet):
    """Dunning runs and their letters; propose, confirm, discard and choose letters."""

    model = DunningRun
    serializer_class = DunningRunSerializer
    filterset_class = DunningRunFilterSet
    ordering_fields = ["date", "id"]
    select_related = ("company",)
    prefetch_related = ("letters__partner", "letters__level", "letters__invoices")
    action_perms = {
        "propose": "add",
        "confirm": "change",
        "discard": "change",
        "include": "change",
        "exclude": "change",
    }

    def _respond(self, run: DunningRun, status: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=run.pk)
        return Response(self.get_serializer(fresh).data, status=status)

    @extend_schema(request=ProposeSerializer, responses={201: DunningRunSerializer})
    @action(detail=False, methods=["post"])
    def propose(self, request: Request) -> Response:
        """Propose a run at ``date`` (replacing the run still awaiting review)."""
        from django.utils import timezone

        data = ProposeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = self.call_service(
            dunning.dunning_run_propose,
            company=request.company,  # type: ignore[attr-defined]
            date=data.validated_data.get("date") or timezone.localdate(),
        )
        return self._respond(run, status=201)

    @extend_schema(request=None, responses=DunningRunSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        """Send the included letters: file, e-mail, block partners of blocking levels."""
        run = self.call_service(
            dunning.dunning_run_confirm, run=self.get_object(), user=request.user
        )
        return self._respond(run)

    @extend_schema(request=None, responses=DunningRunSerializer)
    @action(detail=True, methods=["post"])
    def discard(self, request: Request, pk: str | None = None) -> Response:
        run = self.call_service(dunning.dunning_run_discard, run=self.get_object())
        return self._respond(run)

    def _choose(self, request: Request, included: bool) -> Response:
        run = self.get_object()
        data = LettersSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wanted = set(data.validated_data["letters"])
        letters = list(run.letters.filter(pk__in=wanted))
        missing = wanted - {letter.pk for letter in letters}
        if missing:
            raise exceptions.ValidationError(
                {
                    "letters": [
                        _("No letter %(ids)s in this run.")
                        % {"ids": ", ".join(str(pk) for pk in sorted(missing))}
                    ]
                }
            )
        service = dunning.letter_include if included else dunning.letter_exclude

        def choose() -> None:
            for letter in letters:
                service(letter=letter)

        self.call_service(choose)
        return self._respond(run)

    @extend_schema(request=LettersSerializer, responses=DunningRunSerializer)
    @action(detail=True, methods=["post"])
    def include(self, request: Request, pk: str | None = None) -> Response:
        """Put letters back into a proposed run."""
        return self._choose(request, True)

    @extend_schema(request=LettersSerializer, responses=DunningRunSerializer)
    @action(detail=True, methods=["post"])
    def exclude(self, request: Request, pk: str | None = None) -> Response:
        """Leave letters out of a proposed run."""
        return self._choose(request, False)


# --- promises to pay --------------------------------------------------------------------------


class PromiseToPaySerializer(CompanyModelSerializer):
    partner = serializers.CharField(help_text=gettext_lazy("The partner's code."))
    invoice = serializers.IntegerField(required=False, allow_null=True)
    amount = serializers.DecimalField(
        max_digits=18,
        decimal_places=4,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("In the invoice's currency (optional)."),
    )

    class Meta:
        model = PromiseToPay
        fields = [
            "id",
            "partner",
            "invoice",
            "promised_date",
            "amount",
            "note",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = ["recorded_by", "created_at"]

    def _company(self) -> Any:
        return getattr(self.context.get("request"), "company", None)

    def validate_partner(self, value: str) -> Partner:
        found = Partner.objects.for_company(self._company()).filter(code=str(value).strip()).first()
        if found is None:
            raise serializers.ValidationError(_("No partner with this code."))
        return found

    def validate_invoice(self, value: int | None) -> Invoice | None:
        if value is None:
            return None
        found = Invoice.objects.for_company(self._company()).filter(pk=value).first()
        if found is None:
            raise serializers.ValidationError(_("Choose an invoice of this company."))
        return found

    def to_representation(self, promise: PromiseToPay) -> dict[str, Any]:
        currency = dunning.promise_currency(promise.partner, promise.invoice)
        return {
            "id": promise.pk,
            "partner": promise.partner.code,
            "invoice": promise.invoice_id,
            "invoice_number": str(promise.invoice) if promise.invoice else None,
            "promised_date": promise.promised_date.isoformat(),
            "amount": money_text(promise.amount, currency),
            "currency": currency,
            "note": promise.note,
            "recorded_by": promise.recorded_by,
            "created_at": promise.created_at.isoformat() if promise.created_at else None,
        }


class PromiseToPayFilterSet(CompanyFilterSet):
    search_fields = ("partner__code", "partner__legal_name", "note")

    class Meta:
        model = PromiseToPay
        fields = {"promised_date": ["gte", "lte"], "partner__code": ["exact"]}


class PromiseToPayViewSet(CompanyModelViewSet):
    """Promises to pay: a run leaves the promised invoices out until the promised date."""

    model = PromiseToPay
    serializer_class = PromiseToPaySerializer
    filterset_class = PromiseToPayFilterSet
    select_related = ("partner", "invoice", "company")
    ordering_fields = ["promised_date", "id"]
    create_service = dunning.promise_to_pay_create
    update_service = dunning.promise_to_pay_update
    delete_service = dunning.promise_to_pay_delete


router.register("billing/dunning/levels", DunningLevelViewSet, basename="billing-dunninglevel")
router.register("billing/dunning/runs", DunningRunViewSet, basename="billing-dunningrun")
router.register("billing/dunning/promises", PromiseToPayViewSet, basename="billing-promise")

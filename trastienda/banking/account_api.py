"""REST API of bank accounts and reconciliation rules, under ``/api/v1/banking/``.

- ``accounts/``: list, retrieve, create, update and delete bank accounts through
  :mod:`trastienda.banking.services` (IBAN typed with or without spaces, stored compact; the
  ledger ``account`` and ``journal`` by their codes, chosen automatically when left out on
  create); ``accounts/<id>/mapping/`` reads (GET) or replaces (PUT) the CSV/XLSX column
  mapping, a JSON object of :class:`~trastienda.banking.formats.tabular.ColumnMapping`
  settings; ``accounts/<id>/balances/`` gives the balance per the statements and per the
  ledger and what is left to reconcile.
- ``rules/``: reconciliation rules (``account`` by code, ``bank_account`` by id or null for
  every account) through :mod:`trastienda.banking.rules`.

Amounts travel as decimal strings in the bank account's currency. A service's
ValidationError is a 400 naming the field, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.banking import rules, services
from trastienda.banking.account_filters import BankAccountFilterSet, ReconciliationRuleFilterSet
from trastienda.banking.models import BankAccount, ReconciliationRule
from trastienda.core.api import CompanyModelSerializer, CompanyModelViewSet, router
from trastienda.core.money import Money
from trastienda.ledger.models import Account, Journal


def money_text(minor: int | None, currency: str) -> str | None:
    return None if minor is None else str(Money(int(minor), currency).to_decimal())


@extend_schema_field(OpenApiTypes.STR)
class MoneyText(serializers.Field):
    """Integer minor units of the record's currency (``currency``, or what ``currency_of``
    returns for the record) sent as a decimal string; read only."""

    def __init__(self, *, currency_of: Any = None, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.currency_of = currency_of or (lambda record: record.currency)

    def get_attribute(self, instance: Any) -> Any:
        return (super().get_attribute(instance), self.currency_of(instance))

    def to_representation(self, value: Any) -> Any:
        minor, currency = value
        return money_text(minor, currency)


@extend_schema_serializer(component_name="BankingAccount")  # billing has a "BankAccount"
class BankAccountSerializer(CompanyModelSerializer):
    iban = serializers.CharField(max_length=50, help_text="With or without spaces.")
    bic = serializers.CharField(max_length=20, required=False, allow_blank=True)
    creditor_id = serializers.CharField(max_length=50, required=False, allow_blank=True)
    currency = serializers.CharField(
        max_length=3, required=False, help_text="Default: the company currency."
    )
    account = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Account.objects.all(),
        required=False,
        help_text="Ledger account code; left out on create: the chart's bank account.",
    )
    journal = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Journal.objects.all(),
        required=False,
        help_text="Journal code; left out on create: the first bank journal.",
    )

    class Meta:
        model = BankAccount
        fields = [
            "id",
            *services.BANK_ACCOUNT_FIELDS,
            "column_mapping",
            "created_at",
        ]
        read_only_fields = ["column_mapping", "created_at"]


class BalancesSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    statement = serializers.CharField(allow_null=True, help_text="The latest closing balance.")
    statement_date = serializers.DateField(allow_null=True)
    ledger = serializers.CharField(help_text="The ledger account's balance today.")
    ledger_at_statement = serializers.CharField(allow_null=True)
    difference = serializers.CharField(allow_null=True)
    open_lines = serializers.IntegerField()
    open_amount = serializers.CharField()


def _bank_account_update(*, instance: BankAccount, **data: Any) -> BankAccount:
    stored = BankAccount.objects.select_related("company").get(pk=instance.pk)
    return services.bank_account_update(instance=stored, **data)


class BankAccountViewSet(CompanyModelViewSet):
    """The company's bank accounts."""

    model = BankAccount
    serializer_class = BankAccountSerializer
    filterset_class = BankAccountFilterSet  # q, currency, active
    ordering_fields = ["name", "iban", "created_at"]
    select_related = ("company", "account", "journal")
    create_service = services.bank_account_create
    update_service = _bank_account_update
    delete_service = services.bank_account_delete
    action_perms = {"mapping": "view", "mapping_update": "change", "balances": "view"}

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def mapping(self, request: Request, pk: str | None = None) -> Response:
        """How this bank's CSV/XLSX statements are read (``{}`` when not set)."""
        return Response(self.get_object().column_mapping or {})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    @mapping.mapping.put
    def mapping_update(self, request: Request, pk: str | None = None) -> Response:
        """Replace the column mapping: ``{"date": "Fecha", "amount": "Importe",
        "description": ["Concepto"], "date_format": "%d/%m/%Y", "decimal_separator": ","}``.
        A setting that cannot be used is a 400 naming it."""
        from trastienda.banking.formats.tabular import ColumnMapping, ColumnMappingError

        account = self.get_object()
        data = request.data
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"mapping": ["Send a JSON object."]})
        try:
            ColumnMapping.from_dict(data)
        except ColumnMappingError as exc:
            raise exceptions.ValidationError({exc.field: [exc.message]}) from exc
        except (ValueError, TypeError) as exc:
            raise exceptions.ValidationError({"mapping": [str(exc)]}) from exc
        saved = self.call_service(services.column_mapping_save, instance=account, mapping=data)
        return Response(saved.column_mapping)

    @extend_schema(responses=BalancesSerializer)
    @action(detail=True, methods=["get"])
    def balances(self, request: Request, pk: str | None = None) -> Response:
        """The balance per the statements and per the ledger, and what is left to reconcile."""
        from trastienda.banking.account_queries import balances

        found = balances(self.get_object())
        currency = found.currency
        return Response(
            BalancesSerializer(
                {
                    "currency": currency,
                    "statement": money_text(found.statement, currency),
                    "statement_date": found.statement_date,
                    "ledger": money_text(found.ledger_today, currency),
                    "ledger_at_statement": money_text(found.ledger_at_statement, currency),
                    "difference": money_text(found.difference, currency),
                    "open_lines": found.open_lines,
                    "open_amount": money_text(found.open_amount, currency),
                }
            ).data
        )


class ReconciliationRuleSerializer(CompanyModelSerializer):
    account = serializers.SlugRelatedField(
        slug_field="code", queryset=Account.objects.all(), help_text="The account's code."
    )
    bank_account = serializers.PrimaryKeyRelatedField(
        queryset=BankAccount.objects.all(),
        allow_null=True,
        required=False,
        help_text="Empty: every bank account.",
    )

    class Meta:
        model = ReconciliationRule
        fields = ["id", *rules.RULE_FIELDS]


class ReconciliationRuleViewSet(CompanyModelViewSet):
    """Rules that book lines whose text contains something to an account."""

    model = ReconciliationRule
    serializer_class = ReconciliationRuleSerializer
    filterset_class = ReconciliationRuleFilterSet
    ordering_fields = ["priority", "name"]
    select_related = ("company", "bank_account", "account")
    create_service = rules.rule_create
    update_service = rules.rule_update
    delete_service = rules.rule_delete


router.register("banking/accounts", BankAccountViewSet, basename="banking-bankaccount")
router.register("banking/rules", ReconciliationRuleViewSet, basename="banking-rule")

__all__ = ["BankAccountViewSet", "MoneyText", "ReconciliationRuleViewSet", "money_text"]

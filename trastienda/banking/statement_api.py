"""REST API of bank statements and their lines, under ``/api/v1/banking/``.

- ``statements/``: list, retrieve and delete (through ``statement_delete``: refused once a
  line is reconciled) imported statements; ``POST statements/import/`` (multipart ``file``,
  optional ``bank_account`` as id or IBAN) imports a statement file all or nothing: 201 with
  the statements, lines and money in and out, or 400 with the problems keyed ``file``,
  ``statement N`` and ``line N`` and nothing written. With ``background=true`` the file is
  imported by the job ``banking.statement_import`` instead: 202 with the job to poll
  (``/api/v1/jobs/<id>/``). An ``Idempotency-Key`` makes a retried upload safe.
- ``statement-lines/``: list and retrieve lines (filters ``bank_account``, ``state``,
  ``unreconciled``, ``direction``, ``date_from``/``date_to``, ``amount_min``/``amount_max``
  as decimal strings of the amount money in or out, ``statement``, ``q``), each with its
  reconciliations.

Amounts travel as decimal strings in the bank account's currency.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.banking import services
from trastienda.banking.account_api import MoneyText, money_text
from trastienda.banking.models import BankAccount, Reconciliation, Statement, StatementLine
from trastienda.banking.statement_filters import StatementFilterSet, StatementLineFilterSet
from trastienda.banking.statement_forms import check_statement_upload
from trastienda.banking.statement_views import import_errors, start_import_job
from trastienda.core.api import (
    CompanyModelSerializer,
    CompanyReadOnlyModelViewSet,
    idempotent,
    router,
)


def _account_currency(record: Any) -> str:
    return str(record.bank_account.currency)


class StatementSerializer(CompanyModelSerializer):
    bank_account_name = serializers.CharField(source="bank_account.name", read_only=True)
    iban = serializers.CharField(source="bank_account.iban", read_only=True)
    currency = serializers.CharField(source="bank_account.currency", read_only=True)
    opening_balance = MoneyText(currency_of=_account_currency, allow_null=True)
    closing_balance = MoneyText(currency_of=_account_currency, allow_null=True)
    credit_total = MoneyText(currency_of=_account_currency, help_text="Money in.")
    debit_total = MoneyText(currency_of=_account_currency, help_text="Money out (positive).")
    imported_by = serializers.CharField(
        source="imported_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Statement
        fields = [
            "id",
            "bank_account",
            "bank_account_name",
            "iban",
            "format",
            "reference",
            "filename",
            "file_hash",
            "start_date",
            "end_date",
            "currency",
            "opening_balance",
            "credit_total",
            "debit_total",
            "closing_balance",
            "line_count",
            "imported_by",
            "created_at",
        ]
        read_only_fields = fields


class StatementImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text=gettext_lazy("CAMT.053/052/054, OFX, Norma 43, MT940, CSV or XLSX.")
    )
    bank_account = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=gettext_lazy(
            "The bank account's id or IBAN; empty: found from the IBAN in the file (CSV and "
            "XLSX files need it, for its column mapping)."
        ),
    )
    background = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy("Import in a background job (202 with the job to poll)."),
    )


class ImportResultSerializer(serializers.Serializer[Any]):
    statements = StatementSerializer(many=True)
    lines = serializers.IntegerField()
    money_in = serializers.DictField(child=serializers.CharField(), help_text="Per currency.")
    money_out = serializers.DictField(child=serializers.CharField(), help_text="Per currency.")


def result_body(result: services.ImportResult, context: dict[str, Any]) -> dict[str, Any]:
    money_in: dict[str, int] = {}
    money_out: dict[str, int] = {}
    for statement in result.statements:
        currency = statement.bank_account.currency
        money_in[currency] = money_in.get(currency, 0) + statement.credit_total
        money_out[currency] = money_out.get(currency, 0) + statement.debit_total
    return {
        "statements": StatementSerializer(result.statements, many=True, context=context).data,
        "lines": result.lines,
        "money_in": {c: money_text(v, c) for c, v in sorted(money_in.items())},
        "money_out": {c: money_text(v, c) for c, v in sorted(money_out.items())},
    }


def _bank_account(company: Any, value: str) -> BankAccount | None:
    """The company's bank account with this id or IBAN (as the import service reads it)."""
    accounts = BankAccount.objects.for_company(company)
    text = value.strip()
    if text.isdigit():
        return accounts.filter(pk=int(text)).first()
    return accounts.filter(iban="".join(text.split()).upper()).first()


class StatementViewSet(mixins.DestroyModelMixin, CompanyReadOnlyModelViewSet):
    """Imported bank statements."""

    model = Statement
    serializer_class = StatementSerializer
    filterset_class = StatementFilterSet  # q, bank_account, format, date_from, date_to
    ordering_fields = ["end_date", "start_date", "created_at"]
    select_related = ("company", "bank_account", "imported_by")
    action_perms = {"import_file": "add"}
    idempotent_actions = ("import_file",)

    def perform_destroy(self, instance: Statement) -> None:
        self.call_service(services.statement_delete, instance=instance)

    @extend_schema(
        request={"multipart/form-data": StatementImportSerializer},
        responses={201: ImportResultSerializer, 202: OpenApiTypes.OBJECT},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Any:
        """Import a statement file, all or nothing (see the module's description)."""
        return idempotent(request, lambda: self._import(request))

    def _import(self, request: Request) -> Response:
        form = StatementImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        try:
            name, _extension = check_statement_upload(upload)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"file": exc.messages}) from exc
        company = request.company  # type: ignore[attr-defined]
        chosen = form.validated_data.get("bank_account") or None
        if form.validated_data.get("background"):
            account = None
            if chosen is not None:
                account = _bank_account(company, chosen)
                if account is None:
                    raise exceptions.ValidationError(
                        {"bank_account": [_("Choose a bank account of this company.")]}
                    )
            job = start_import_job(request, upload, account)
            return Response(
                {"job": job.pk, "status": job.status, "kind": job.kind},
                status=status.HTTP_202_ACCEPTED,
            )
        try:
            result = services.statement_import(
                company=company,
                content=upload.read(),
                filename=name,
                bank_account=chosen,
                user=request.user,
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(dict(import_errors(exc))) from exc
        return Response(
            result_body(result, self.get_serializer_context()), status=status.HTTP_201_CREATED
        )


class LineReconciliationSerializer(CompanyModelSerializer):
    amount = MoneyText(currency_of=lambda record: record.line.currency)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Reconciliation
        fields = [
            "id",
            "kind",
            "state",
            "amount",
            "payment",
            "entry",
            "score",
            "reason",
            "automatic",
            "created_by",
            "created_at",
            "undone_at",
        ]
        read_only_fields = fields


class StatementLineSerializer(CompanyModelSerializer):
    amount = MoneyText()
    open_amount = MoneyText()
    reconciliations = LineReconciliationSerializer(many=True, read_only=True)

    class Meta:
        model = StatementLine
        fields = [
            "id",
            "statement",
            "bank_account",
            "sequence",
            "booking_date",
            "value_date",
            "amount",
            "open_amount",
            "currency",
            "state",
            "description",
            "reference",
            "bank_reference",
            "counterparty_name",
            "counterparty_iban",
            "transaction_code",
            "reconciliations",
        ]
        read_only_fields = fields


class StatementLineViewSet(CompanyReadOnlyModelViewSet):
    """Movements of the imported statements."""

    model = StatementLine
    serializer_class = StatementLineSerializer
    filterset_class = StatementLineFilterSet
    ordering_fields = ["booking_date", "amount", "open_amount", "state"]
    select_related = ("company",)
    prefetch_related = ("reconciliations", "reconciliations__created_by")


router.register("banking/statements", StatementViewSet, basename="banking-statement")
router.register("banking/statement-lines", StatementLineViewSet, basename="banking-statementline")

__all__ = ["StatementLineViewSet", "StatementViewSet", "result_body"]

"""REST API of the ledger: ``/api/v1/ledger/...``.

Amounts travel as decimal strings in major units (``"1234.56"``), never as floats; the
services convert them to integer minor units and refuse more decimals than the currency has.
Entries are written with their lines (``lines: [{account: "572", debit: "100.00"}, ...]``);
``POST .../entries/{id}/post/`` posts a draft, ``.../reverse/`` reverses a posted entry
(``ledger.post_journalentry``). Currencies are read-only reference data.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.core.api import (
    CompanyModelSerializer,
    CompanyModelViewSet,
    CompanyReadOnlyModelViewSet,
    router,
)
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm
from trastienda.ledger import filters, services
from trastienda.ledger.models import (
    Account,
    CostCentre,
    Currency,
    ExchangeRate,
    FiscalYear,
    Journal,
    JournalEntry,
    JournalEntryLine,
    LedgerSettings,
    Period,
    Project,
)

POST_PERM = "ledger.post_journalentry"


class CurrencySerializer(CompanyModelSerializer):
    class Meta:
        model = Currency
        fields = ["id", "code", "name", "exponent", "active"]


class CurrencyViewSet(CompanyReadOnlyModelViewSet):
    """ISO 4217 currencies with their exponents (shared by every company)."""

    model = Currency
    serializer_class = CurrencySerializer
    filterset_class = filters.CurrencyFilterSet
    ordering_fields = ["code", "name"]


class ExchangeRateSerializer(CompanyModelSerializer):
    from_currency = serializers.SlugRelatedField(slug_field="code", queryset=Currency.objects.all())
    to_currency = serializers.SlugRelatedField(slug_field="code", queryset=Currency.objects.all())
    rate = serializers.DecimalField(max_digits=20, decimal_places=10)

    class Meta:
        model = ExchangeRate
        fields = ["id", "date", "from_currency", "to_currency", "rate", "source"]
        read_only_fields = ["source"]


class ImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()


class ExchangeRateViewSet(CompanyModelViewSet):
    """Exchange rates of the active company; ``import`` takes a CSV or an ECB XML file."""

    model = ExchangeRate
    serializer_class = ExchangeRateSerializer
    filterset_class = filters.ExchangeRateFilterSet
    ordering_fields = ["date", "from_currency", "to_currency"]
    create_service = services.exchange_rate_create
    update_service = services.exchange_rate_update
    delete_service = services.exchange_rate_delete
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_perms = {"import_file": "add"}

    @extend_schema(request=ImportSerializer, responses={200: dict})
    @action(detail=False, methods=["post"], url_path="import")
    def import_file(self, request: Request) -> Response:
        """Import a CSV (date,from_currency,to_currency,rate) or ECB XML file; all or nothing."""
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": [_("Upload a file.")]})
        company = request.company  # type: ignore[attr-defined]
        content = upload.read()
        service = (
            services.exchange_rates_import_ecb
            if upload.name.lower().endswith(".xml")
            else services.exchange_rates_import_csv
        )
        count = self.call_service(service, company=company, content=content)
        return Response({"imported": count})


class AccountSerializer(CompanyModelSerializer):
    parent = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="code", queryset=Account.objects.all(), required=False, allow_null=True
    )
    default_currency = serializers.SlugRelatedField(
        slug_field="code", queryset=Currency.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "code",
            "parent",
            "level",
            "name",
            "name_es",
            "name_it",
            "name_en",
            "type",
            "subtype",
            "postable",
            "active",
            "reconcilable",
            "default_currency",
        ]
        read_only_fields = ["level", "name"]


class AccountViewSet(CompanyModelViewSet):
    """The chart of accounts; ``import`` takes a CSV or XLSX file (all or nothing)."""

    model = Account
    serializer_class = AccountSerializer
    filterset_class = filters.AccountFilterSet
    ordering_fields = ["code", "type"]
    select_related = ("parent",)
    create_service = services.account_create
    update_service = services.account_update
    delete_service = services.account_delete
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_perms = {"import_file": "add"}

    @extend_schema(request=ImportSerializer, responses={200: dict})
    @action(detail=False, methods=["post"], url_path="import")
    def import_file(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": [_("Upload a file.")]})
        count = self.call_service(
            services.chart_import,
            company=request.company,  # type: ignore[attr-defined]
            content=upload.read(),
            filename=upload.name,
        )
        return Response({"created": count})


class FiscalYearSerializer(CompanyModelSerializer):
    class Meta:
        model = FiscalYear
        fields = ["id", "name", "start_date", "end_date", "state"]


class FiscalYearViewSet(CompanyModelViewSet):
    model = FiscalYear
    serializer_class = FiscalYearSerializer
    filterset_class = filters.FiscalYearFilterSet
    ordering_fields = ["start_date", "name"]
    create_service = services.fiscal_year_create
    update_service = services.fiscal_year_update
    delete_service = services.fiscal_year_delete


class PeriodSerializer(CompanyModelSerializer):
    class Meta:
        model = Period
        fields = ["id", "fiscal_year", "number", "start_date", "end_date", "state"]
        read_only_fields = ["fiscal_year", "number", "start_date", "end_date"]


class PeriodViewSet(CompanyReadOnlyModelViewSet):
    """Monthly periods; ``state`` changes with ``POST .../{id}/close/`` and ``.../open/``."""

    model = Period
    serializer_class = PeriodSerializer
    filterset_class = filters.PeriodFilterSet
    ordering_fields = ["start_date"]
    action_perms = {"close": "change", "open": "change"}

    def _set(self, state: str) -> Response:
        period = self.call_service(services.period_update, instance=self.get_object(), state=state)
        return Response(PeriodSerializer(period, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=PeriodSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        return self._set(Period.State.CLOSED)

    @extend_schema(request=None, responses=PeriodSerializer)
    @action(detail=True, methods=["post"])
    def open(self, request: Request, pk: str | None = None) -> Response:
        return self._set(Period.State.OPEN)


class LedgerSettingsSerializer(CompanyModelSerializer):
    class Meta:
        model = LedgerSettings
        fields = ["id", "hard_lock_date", "lock_date"]


class LedgerSettingsViewSet(CompanyReadOnlyModelViewSet):
    """Lock dates; ``PUT .../{id}/locks/`` changes them."""

    model = LedgerSettings
    queryset = LedgerSettings.objects.order_by("pk")
    serializer_class = LedgerSettingsSerializer
    filterset_class = filters.LedgerSettingsFilterSet
    action_perms = {"locks": "change"}

    @extend_schema(request=LedgerSettingsSerializer, responses=LedgerSettingsSerializer)
    @action(detail=True, methods=["put"])
    def locks(self, request: Request, pk: str | None = None) -> Response:
        serializer = LedgerSettingsSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        row = self.call_service(
            services.settings_update,
            serializer,
            instance=self.get_object(),
            hard_lock_date=serializer.validated_data.get("hard_lock_date"),
            lock_date=serializer.validated_data.get("lock_date"),
        )
        return Response(LedgerSettingsSerializer(row, context=self.get_serializer_context()).data)


class JournalSerializer(CompanyModelSerializer):
    class Meta:
        model = Journal
        fields = ["id", "code", "name", "type", "number_format", "active"]


class JournalViewSet(CompanyModelViewSet):
    model = Journal
    serializer_class = JournalSerializer
    filterset_class = filters.JournalFilterSet
    ordering_fields = ["code", "name"]
    create_service = services.journal_create
    update_service = services.journal_update
    delete_service = services.journal_delete


class CostCentreSerializer(CompanyModelSerializer):
    class Meta:
        model = CostCentre
        fields = ["id", "code", "name", "active"]


class CostCentreViewSet(CompanyModelViewSet):
    model = CostCentre
    serializer_class = CostCentreSerializer
    filterset_class = filters.CostCentreFilterSet
    ordering_fields = ["code", "name"]


class ProjectSerializer(CompanyModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "code", "name", "active"]


class ProjectViewSet(CompanyModelViewSet):
    model = Project
    serializer_class = ProjectSerializer
    filterset_class = filters.ProjectFilterSet
    ordering_fields = ["code", "name"]


class LineSerializer(serializers.Serializer[Any]):
    """A line: amounts as decimal strings in major units; account, cost centre and project by
    code; ``currency`` defaults to the company's, ``amount_currency`` is signed."""

    account = serializers.CharField()
    debit = serializers.CharField(required=False, allow_blank=True)
    credit = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    partner = serializers.CharField(required=False, allow_blank=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    currency = serializers.CharField(required=False, allow_blank=True)
    amount_currency = serializers.CharField(required=False, allow_blank=True)
    cost_centre = serializers.CharField(required=False, allow_blank=True)
    project = serializers.CharField(required=False, allow_blank=True)

    def to_representation(self, line: JournalEntryLine) -> dict[str, Any]:
        base = line.company.base_currency
        return {
            "line_no": line.line_no,
            "account": line.account.code,
            "debit": str(Money(line.debit, base).to_decimal()),
            "credit": str(Money(line.credit, base).to_decimal()),
            "description": line.description,
            "partner": line.partner,
            "due_date": line.due_date.isoformat() if line.due_date else None,
            "currency": line.currency_id,
            "amount_currency": str(Money(line.amount_currency, line.currency_id).to_decimal()),
            "cost_centre": line.cost_centre.code if line.cost_centre else None,
            "project": line.project.code if line.project else None,
        }


class JournalEntrySerializer(CompanyModelSerializer):
    journal = serializers.SlugRelatedField(slug_field="code", queryset=Journal.objects.all())
    # "draft" or "posted"; plain text so that its enum does not collide with the periods' state
    state = serializers.CharField(read_only=True)
    lines = LineSerializer(many=True)
    post = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text=(
            "On create: post the entry at once (one transaction; needs the permission to post)."
        ),
    )

    class Meta:
        model = JournalEntry
        fields = [
            "id",
            "post",
            "journal",
            "date",
            "reference",
            "description",
            "state",
            "number",
            "reversal_of",
            "posted_at",
            "posted_by",
            "chain_seq",
            "hash",
            "hash_version",
            "lines",
        ]
        read_only_fields = [
            "state",
            "number",
            "reversal_of",
            "posted_at",
            "posted_by",
            "chain_seq",
            "hash",
            "hash_version",
        ]

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        request = self.context.get("request")
        company = getattr(request, "company", None)
        journal = fields["journal"]
        journal.queryset = (
            Journal.objects.for_company(company) if company else Journal.objects.none()
        )
        return fields


class ReverseSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(required=False, allow_null=True)


class JournalEntryViewSet(CompanyModelViewSet):
    """Journal entries with their lines. Drafts are editable; posted entries only reversible."""

    model = JournalEntry
    serializer_class = JournalEntrySerializer
    filterset_class = filters.JournalEntryFilterSet
    ordering_fields = ["date", "number", "id"]
    select_related = ("journal", "company")
    prefetch_related = ("lines__account", "lines__company", "lines__cost_centre", "lines__project")
    create_service = services.entry_create_draft
    update_service = services.entry_update_draft
    delete_service = services.entry_delete_draft
    action_perms = {
        "post_entry": POST_PERM,
        "reverse": POST_PERM,
        "import_file": ("add", POST_PERM),
    }

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        data["lines"] = [dict(x) for x in data.get("lines", [])]
        if not data.pop("post", False):
            super().perform_create(serializer)
            return
        request = self.request
        if not has_perm(request, POST_PERM):
            raise exceptions.PermissionDenied(_("You may create drafts but not post them."))
        serializer.instance = self.call_service(
            services.entry_create_posted,
            serializer,
            company=request.company,  # type: ignore[attr-defined]
            allow_before_lock=has_perm(request, "ledger.post_before_lock"),
            **data,
        )

    def perform_update(self, serializer: Any) -> None:
        if serializer.validated_data.pop("post", False):
            raise exceptions.ValidationError(
                {"post": [_("Post a saved draft with its post action.")]}
            )
        if "lines" in serializer.validated_data:
            serializer.validated_data["lines"] = [
                dict(x) for x in serializer.validated_data["lines"]
            ]
        super().perform_update(serializer)

    def _respond(self, entry: JournalEntry) -> Response:
        entry = self.get_queryset().get(pk=entry.pk)
        return Response(self.get_serializer(entry).data)

    @extend_schema(request=None, responses=JournalEntrySerializer)
    @action(detail=True, methods=["post"], url_path="post")
    def post_entry(self, request: Request, pk: str | None = None) -> Response:
        """Post a draft: validate, number, hash, freeze."""
        entry = self.call_service(
            services.entry_post,
            instance=self.get_object(),
            allow_before_lock=has_perm(request, "ledger.post_before_lock"),
        )
        return self._respond(entry)

    @extend_schema(request=ReverseSerializer, responses=JournalEntrySerializer)
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: str | None = None) -> Response:
        data = ReverseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = self.call_service(
            services.entry_reverse,
            instance=self.get_object(),
            date=data.validated_data.get("date"),
            allow_before_lock=has_perm(request, "ledger.post_before_lock"),
        )
        return self._respond(entry)

    @extend_schema(
        request={"multipart/form-data": ImportSerializer},
        responses={201: dict, 200: dict, 400: dict, 409: dict},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Response:
        """Import a CSV or XLSX file of entries, all or nothing: 201 (posted), 200 (all
        imported before), 400 (problems by file line), 409 (closed or locked periods)."""
        from trastienda.ledger.import_views import api_import

        return api_import(request)


router.register("ledger/currencies", CurrencyViewSet, basename="ledger-currency")
router.register("ledger/exchange-rates", ExchangeRateViewSet, basename="ledger-exchangerate")
router.register("ledger/accounts", AccountViewSet, basename="ledger-account")
router.register("ledger/fiscal-years", FiscalYearViewSet, basename="ledger-fiscalyear")
router.register("ledger/periods", PeriodViewSet, basename="ledger-period")
router.register("ledger/settings", LedgerSettingsViewSet, basename="ledger-settings")
router.register("ledger/journals", JournalViewSet, basename="ledger-journal")
router.register("ledger/cost-centres", CostCentreViewSet, basename="ledger-costcentre")
router.register("ledger/projects", ProjectViewSet, basename="ledger-project")
router.register("ledger/entries", JournalEntryViewSet, basename="ledger-entry")


# --- reports (read-only; amounts as decimal strings in the company currency) ----------------

from drf_spectacular.types import OpenApiTypes  # noqa: E402
from drf_spectacular.utils import OpenApiParameter  # noqa: E402

from trastienda.core.api import CompanyGenericViewSet  # noqa: E402
from trastienda.ledger import queries  # noqa: E402
from trastienda.ledger.reports import report_params  # noqa: E402

REPORT_MAX_LIMIT = 1000
DATE_PARAMS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Default: fiscal year start."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Default: fiscal year end."),
]
PAGE_PARAMS = [
    OpenApiParameter("offset", OpenApiTypes.INT),
    OpenApiParameter("limit", OpenApiTypes.INT, description="At most 1000; default 100."),
]


class ReportViewSet(CompanyGenericViewSet):
    """Base of the report endpoints: ``GET`` with ``date_from``/``date_to`` (ISO dates,
    default the current fiscal year); needs ``ledger.view_journalentry``."""

    permission_model = JournalEntry
    action_perms = {"list": "view"}
    pagination_class = None

    def params(self, request: Request) -> dict[str, Any]:
        params, errors = report_params(request.company, request.query_params)  # type: ignore[attr-defined]
        if errors:
            raise exceptions.ValidationError(errors)
        return params

    def amount(self, minor: int) -> str:
        return str(Money(minor, self.request.company.base_currency).to_decimal())  # type: ignore[attr-defined]

    def window(self, request: Request) -> tuple[int, int]:
        try:
            offset = max(0, int(request.query_params.get("offset", 0)))
            limit = int(request.query_params.get("limit", 100))
        except ValueError as exc:
            raise exceptions.ValidationError({"offset": [_("Enter a whole number.")]}) from exc
        return offset, min(max(1, limit), REPORT_MAX_LIMIT)


class TrialBalanceViewSet(ReportViewSet):
    """Trial balance: per account opening, debit, credit, closing; ``account`` is a code
    prefix, ``show_all=1`` keeps accounts without movement, ``groups=1`` adds group rows."""

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            *DATE_PARAMS,
            OpenApiParameter("account", OpenApiTypes.STR, description="Account code prefix."),
            OpenApiParameter("show_all", OpenApiTypes.BOOL),
            OpenApiParameter("groups", OpenApiTypes.BOOL),
        ],
    )
    def list(self, request: Request) -> Response:
        p = self.params(request)
        report = queries.trial_balance(
            request.company,  # type: ignore[attr-defined]
            p["date_from"],
            p["date_to"],
            prefix=p["account"],
            show_all=p["show_all"],
            groups=p["groups"],
        )
        return Response(
            {
                "date_from": p["date_from"],
                "date_to": p["date_to"],
                "currency": request.company.base_currency,  # type: ignore[attr-defined]
                "rows": [
                    {
                        "account": r.account.code,
                        "name": r.account.name,
                        "group": r.is_group,
                        "opening": self.amount(r.opening),
                        "debit": self.amount(r.debit),
                        "credit": self.amount(r.credit),
                        "closing": self.amount(r.closing),
                    }
                    for r in report.rows
                ],
                "totals": {
                    "opening": self.amount(report.opening),
                    "debit": self.amount(report.debit),
                    "credit": self.amount(report.credit),
                    "closing": self.amount(report.closing),
                },
            }
        )


class GeneralLedgerViewSet(ReportViewSet):
    """General ledger of the account ``account`` (a code) with the running balance;
    ``offset``/``limit`` page through the lines (``opening`` is the balance carried in)."""

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            *DATE_PARAMS,
            *PAGE_PARAMS,
            OpenApiParameter("account", OpenApiTypes.STR, description="Account code."),
        ],
    )
    def list(self, request: Request) -> Response:
        p = self.params(request)
        company = request.company  # type: ignore[attr-defined]
        account = queries.pick_account(company, p["account"], p["date_from"], p["date_to"])
        if account is None:
            raise exceptions.NotFound(_("No such account."))
        offset, limit = self.window(request)
        count = queries.account_line_count(company, account, p["date_from"], p["date_to"])
        carried, items = queries.general_ledger(
            company, account, p["date_from"], p["date_to"], offset=offset, limit=limit
        )
        return Response(
            {
                "account": account.code,
                "name": account.name,
                "date_from": p["date_from"],
                "date_to": p["date_to"],
                "currency": company.base_currency,
                "count": count,
                "opening": self.amount(carried),
                "lines": [
                    {
                        "date": i.entry.date,
                        "entry": i.entry.pk,
                        "number": i.entry.number,
                        "description": i.line.description or i.entry.description,
                        "partner": i.line.partner,
                        "debit": self.amount(i.line.debit),
                        "credit": self.amount(i.line.credit),
                        "balance": self.amount(i.balance),
                    }
                    for i in items
                ],
            }
        )


class JournalBookViewSet(ReportViewSet):
    """Journal book: posted entries of the range in book order with their lines."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, parameters=[*DATE_PARAMS, *PAGE_PARAMS])
    def list(self, request: Request) -> Response:
        p = self.params(request)
        company = request.company  # type: ignore[attr-defined]
        offset, limit = self.window(request)
        entries = queries.journal_entries(company, p["date_from"], p["date_to"])
        return Response(
            {
                "date_from": p["date_from"],
                "date_to": p["date_to"],
                "currency": company.base_currency,
                "count": entries.count(),
                "entries": [
                    {
                        "id": e.pk,
                        "number": e.number,
                        "date": e.date,
                        "journal": e.journal.code,
                        "reference": e.reference,
                        "description": e.description,
                        "lines": [
                            {
                                "line_no": x.line_no,
                                "account": x.account.code,
                                "description": x.description,
                                "partner": x.partner,
                                "debit": self.amount(x.debit),
                                "credit": self.amount(x.credit),
                            }
                            for x in e.lines.all()
                        ],
                    }
                    for e in entries[offset : offset + limit]
                ],
            }
        )


router.register("ledger/trial-balance", TrialBalanceViewSet, basename="ledger-trial-balance")
router.register("ledger/general-ledger", GeneralLedgerViewSet, basename="ledger-general-ledger")
router.register("ledger/journal-book", JournalBookViewSet, basename="ledger-journal-book")


# --- period-end revaluation of foreign-currency balances ------------------------------------

from trastienda.ledger import fx  # noqa: E402


class RevaluationSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    reverse_on = serializers.DateField(required=False, allow_null=True)


class RevaluationViewSet(CompanyGenericViewSet):
    """Revaluation of the open foreign-currency balances of the monetary accounts.

    ``GET ?date=YYYY-MM-DD`` (default today) previews it; ``POST {"date": ..., "reverse_on":
    ...}`` posts the entry (201, the entry) or answers 200 with ``entry: null`` when the book
    values already match. Needs ``ledger.post_journalentry``.
    """

    permission_model = JournalEntry
    action_perms = {"list": POST_PERM, "create": POST_PERM}
    pagination_class = None

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("date", OpenApiTypes.DATE, description="Default: today.")],
    )
    def list(self, request: Request) -> Response:
        from django.utils import timezone

        company = request.company  # type: ignore[attr-defined]
        query = RevaluationSerializer(
            data={"date": request.query_params.get("date") or timezone.localdate()}
        )
        query.is_valid(raise_exception=True)
        date = query.validated_data["date"]
        lines = self.call_service(fx.revaluation_preview, company=company, date=date)
        base = company.base_currency

        def amount(minor: int, currency: str) -> str:
            return str(Money(minor, currency).to_decimal())

        return Response(
            {
                "date": date,
                "currency": base,
                "lines": [
                    {
                        "account": x.account.code,
                        "name": x.account.name,
                        "partner": x.partner,
                        "currency": x.currency,
                        "balance": amount(x.balance, x.currency),
                        "rate": str(x.rate),
                        "rate_date": x.rate.date,
                        "revalued": amount(x.revalued, base),
                        "book_value": amount(x.book_value, base),
                        "difference": amount(x.difference, base),
                    }
                    for x in lines
                ],
                "difference": amount(sum(x.difference for x in lines), base),
            }
        )

    @extend_schema(request=RevaluationSerializer, responses={201: JournalEntrySerializer})
    def create(self, request: Request) -> Response:
        data = RevaluationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = self.call_service(
            fx.revaluation_post,
            data,
            company=request.company,  # type: ignore[attr-defined]
            date=data.validated_data["date"],
            reverse_on=data.validated_data.get("reverse_on"),
            allow_before_lock=has_perm(request, "ledger.post_before_lock"),
        )
        if entry is None:
            return Response({"entry": None, "detail": _("Nothing to revalue at this date.")})
        entry = (
            JournalEntry.objects.select_related("journal", "company")
            .prefetch_related(*JournalEntryViewSet.prefetch_related)
            .get(pk=entry.pk)
        )
        context = {"request": request, "view": self}
        return Response(JournalEntrySerializer(entry, context=context).data, status=201)


router.register("ledger/revaluation", RevaluationViewSet, basename="ledger-revaluation")


# --- export of the books (hledger, beancount, CSV; streamed) -------------------------------

from trastienda.ledger.plaintext_views import BooksExportViewSet  # noqa: E402

router.register("ledger/export", BooksExportViewSet, basename="ledger-export")


# --- financial statements (profit and loss, balance sheet) ----------------------------------

from trastienda.ledger.statement_api import BalanceSheetViewSet, ProfitAndLossViewSet  # noqa: E402

router.register("ledger/profit-and-loss", ProfitAndLossViewSet, basename="ledger-profit-and-loss")
router.register("ledger/balance-sheet", BalanceSheetViewSet, basename="ledger-balance-sheet")


# --- budgets and budget versus actual --------------------------------------------------------

from trastienda.ledger.budget_api import BudgetViewSet, BudgetVsActualViewSet  # noqa: E402

router.register("ledger/budgets", BudgetViewSet, basename="ledger-budget")
router.register(
    "ledger/budget-vs-actual", BudgetVsActualViewSet, basename="ledger-budget-vs-actual"
)

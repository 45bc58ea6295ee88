"""REST API of trading's compliance part (registered on the shared router), under
``/api/v1/trading/``:

- ``compliance-rules/``: CRUD of the rules through :mod:`trastienda.trading.compliance`
  (``trader``, ``instrument`` by code; ``limit`` as decimal text: a quantity for a position
  limit, an amount in ``currency`` for an exposure limit; ``params`` for unusual size:
  ``{"multiple": "3", "lookback": 20, "min_history": 5}``).
- ``restricted-list/``: CRUD of the restricted list (``instrument`` by code).
- ``alerts/``: list (filters ``state``, ``rule``, ``kind``, ``severity``, ``trader``,
  ``instrument``, ``owner``, ``date_from``, ``date_to``, ``q``) and retrieve; ``POST
  alerts/run/`` with ``date`` runs compliance for that day (201 with the counts);
  ``POST alerts/{id}/assign/`` (``owner`` username or blank, ``comment``),
  ``justify/`` (``text``), ``escalate/`` (``to`` username, ``comment``), ``close/``
  (``justification``), ``reopen/`` (``reason``). A refused step answers 400 naming the
  field (``state`` for a step the alert's state does not allow) and changes nothing.
- ``procedures/``: list, retrieve, create (with the first version's ``body``,
  ``effective_from``, ``change_note`` and ``controls``, rule codes); ``GET/POST
  procedures/{id}/versions/`` lists the versions or adds the next one; ``POST
  procedures/{id}/link/`` and ``unlink/`` with ``rule`` (a rule's code).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trastienda.core.api import (
    CompanyModelSerializer,
    CompanyModelViewSet,
    CompanyReadOnlyModelViewSet,
    idempotent,
    router,
)
from trastienda.trading import compliance
from trastienda.trading.models import (
    Alert,
    ComplianceRule,
    Instrument,
    Procedure,
    ProcedureVersion,
    RestrictedInstrument,
    Trader,
)
from trastienda.trading.views_compliance import (
    AlertFilterSet,
    ComplianceRuleFilterSet,
    ProcedureFilterSet,
    RestrictedInstrumentFilterSet,
)


@extend_schema_field(OpenApiTypes.STR)
class RuleLimitField(serializers.Field):
    """The rule's limit as decimal text (quantity, or amount in the rule's currency)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return instance

    def to_representation(self, value: Any) -> Any:
        return compliance.rule_limit_text(value) or None

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool | dict | list):
            raise exceptions.ValidationError("Give the limit as decimal text.")
        return "" if data is None else str(data)


class ComplianceRuleSerializer(CompanyModelSerializer):
    trader = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Trader.objects.all(),
        required=False,
        allow_null=True,
        help_text="The trader's code; null: every trader.",
    )
    instrument = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Instrument.objects.all(),
        required=False,
        allow_null=True,
        help_text="The instrument's code; null: every instrument.",
    )
    limit = RuleLimitField(
        help_text="Decimal text: a quantity (position limit) or an amount (exposure limit)."
    )
    params = serializers.JSONField(required=False, help_text="Unusual size: multiple, lookback.")
    currency = serializers.CharField(required=False, allow_blank=True, max_length=3)

    class Meta:
        model = ComplianceRule
        fields = ["id", *compliance.RULE_FIELDS]


class ComplianceRuleViewSet(CompanyModelViewSet):
    """Compliance rules over trading activity."""

    model = ComplianceRule
    serializer_class = ComplianceRuleSerializer
    filterset_class = ComplianceRuleFilterSet
    ordering_fields = ["code", "kind", "severity"]
    select_related = ("company", "trader", "instrument")
    create_service = compliance.compliance_rule_create
    update_service = compliance.compliance_rule_update
    delete_service = compliance.compliance_rule_delete


class RestrictedInstrumentSerializer(CompanyModelSerializer):
    instrument = serializers.SlugRelatedField(
        slug_field="code", queryset=Instrument.objects.all(), help_text="The instrument's code."
    )

    class Meta:
        model = RestrictedInstrument
        fields = ["id", *compliance.RESTRICTED_FIELDS]


class RestrictedInstrumentViewSet(CompanyModelViewSet):
    """The restricted list: instruments nobody may trade between two dates."""

    model = RestrictedInstrument
    serializer_class = RestrictedInstrumentSerializer
    filterset_class = RestrictedInstrumentFilterSet
    ordering_fields = ["valid_from", "valid_to"]
    select_related = ("company", "instrument")
    create_service = compliance.restricted_instrument_create
    update_service = compliance.restricted_instrument_update
    delete_service = compliance.restricted_instrument_delete


# --- alerts --------------------------------------------------------------------------------------


class AlertSerializer(CompanyModelSerializer):
    rule = serializers.CharField(source="rule.code", read_only=True)
    kind = serializers.CharField(source="rule.kind", read_only=True)
    severity = serializers.CharField(source="rule.severity", read_only=True)
    trade = serializers.CharField(
        source="trade.trade_id", read_only=True, allow_null=True, default=None
    )
    trader = serializers.CharField(
        source="trader.code", read_only=True, allow_null=True, default=None
    )
    instrument = serializers.CharField(
        source="instrument.code", read_only=True, allow_null=True, default=None
    )
    owner = serializers.CharField(
        source="owner.username", read_only=True, allow_null=True, default=None
    )
    escalated_to = serializers.CharField(
        source="escalated_to.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "kind",
            "severity",
            "state",
            "date",
            "trade",
            "trader",
            "instrument",
            "message",
            "detail",
            "owner",
            "escalated_to",
            "justification",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields


class ComplianceRunRequestSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(help_text="The day to check (YYYY-MM-DD).")


class ComplianceRunResultSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    rules = serializers.IntegerField()
    trades = serializers.IntegerField()
    raised = serializers.IntegerField()
    already = serializers.IntegerField()
    by_rule = serializers.DictField(child=serializers.IntegerField())
    skipped = serializers.ListField(child=serializers.CharField())


class AlertAssignSerializer(serializers.Serializer[Any]):
    owner = serializers.CharField(
        required=False, allow_blank=True, help_text="Username of a member; blank: no owner."
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class AlertJustifySerializer(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=2000)


class AlertEscalateSerializer(serializers.Serializer[Any]):
    to = serializers.CharField(help_text="Username of the member to escalate to.")
    comment = serializers.CharField(max_length=1000)


class AlertCloseSerializer(serializers.Serializer[Any]):
    justification = serializers.CharField(max_length=2000)


class AlertReopenSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=1000)


def _member(request: Request, username: str, field: str) -> Any:
    user = (
        get_user_model()
        .objects.filter(
            username=username,
            memberships__company=request.company,  # type: ignore[attr-defined]
            memberships__is_active=True,
        )
        .first()
    )
    if user is None:
        raise exceptions.ValidationError({field: ["Not a member of the company."]})
    return user


class AlertViewSet(CompanyReadOnlyModelViewSet):
    """Alerts raised by the compliance runs, and their review workflow."""

    model = Alert
    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet
    ordering_fields = ["date", "created_at", "state"]
    select_related = ("company", "rule", "trade", "trader", "instrument", "owner", "escalated_to")
    action_perms = {
        "run": "add",
        "assign": "change",
        "justify": "change",
        "escalate": "change",
        "close": "change",
        "reopen": "change",
    }
    idempotent_actions = ("run", "assign", "justify", "escalate", "close", "reopen")

    def _alert(self, alert: Alert) -> Response:
        fresh = self.get_queryset().get(pk=alert.pk)
        return Response(AlertSerializer(fresh, context=self.get_serializer_context()).data)

    def _step(self, request: Request, form_class: Any, call: Any) -> Any:
        alert = self.get_object()

        def produce() -> Response:
            form = form_class(data=request.data)
            form.is_valid(raise_exception=True)
            updated = call(alert, form.validated_data)
            return self._alert(updated)

        return idempotent(request, produce)

    @extend_schema(
        request=ComplianceRunRequestSerializer, responses={201: ComplianceRunResultSerializer}
    )
    @action(detail=False, methods=["post"])
    def run(self, request: Request) -> Any:
        """Run compliance for a day: every active rule over its trades and positions."""

        def produce() -> Response:
            form = ComplianceRunRequestSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            result = self.call_service(
                compliance.compliance_run,
                company=request.company,  # type: ignore[attr-defined]
                date=form.validated_data["date"],
                user=request.user,
            )
            return Response(
                ComplianceRunResultSerializer(result).data, status=status.HTTP_201_CREATED
            )

        return idempotent(request, produce)

    @extend_schema(request=AlertAssignSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Any:
        """Give the alert an owner (a member's username; blank: nobody) and a comment."""

        def call(alert: Alert, data: dict[str, Any]) -> Alert:
            username = (data.get("owner") or "").strip()
            owner = _member(request, username, "owner") if username else None
            return self.call_service(
                compliance.alert_assign,
                instance=alert,
                owner=owner,
                comment=data.get("comment") or "",
                user=request.user,
            )

        return self._step(request, AlertAssignSerializer, call)

    @extend_schema(request=AlertJustifySerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def justify(self, request: Request, pk: str | None = None) -> Any:
        """Add a justification."""
        return self._step(
            request,
            AlertJustifySerializer,
            lambda alert, data: self.call_service(
                compliance.alert_justify, instance=alert, text=data["text"], user=request.user
            ),
        )

    @extend_schema(request=AlertEscalateSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Any:
        """Escalate to a member (``to``), saying why (``comment``)."""

        def call(alert: Alert, data: dict[str, Any]) -> Alert:
            to = _member(request, data["to"].strip(), "to")
            return self.call_service(
                compliance.alert_escalate,
                instance=alert,
                to=to,
                comment=data["comment"],
                user=request.user,
            )

        return self._step(request, AlertEscalateSerializer, call)

    @extend_schema(request=AlertCloseSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Any:
        """Close with a justification (the owner, or the person it was escalated to)."""
        return self._step(
            request,
            AlertCloseSerializer,
            lambda alert, data: self.call_service(
                compliance.alert_close,
                instance=alert,
                justification=data["justification"],
                user=request.user,
            ),
        )

    @extend_schema(request=AlertReopenSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Any:
        """Open a closed alert again, with the reason."""
        return self._step(
            request,
            AlertReopenSerializer,
            lambda alert, data: self.call_service(
                compliance.alert_reopen, instance=alert, reason=data["reason"], user=request.user
            ),
        )


# --- procedures ----------------------------------------------------------------------------------


class ProcedureVersionSerializer(CompanyModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ProcedureVersion
        fields = ["version", "body", "change_note", "effective_from", "created_by", "created_at"]
        read_only_fields = ["version", "created_by", "created_at"]


class ProcedureSerializer(CompanyModelSerializer):
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
        help_text="Username of a member.",
    )
    controls = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        queryset=ComplianceRule.objects.all(),
        required=False,
        help_text="Codes of the rules the procedure describes.",
    )
    current_version = serializers.SerializerMethodField()
    body = serializers.CharField(write_only=True, help_text="The first version's text.")
    effective_from = serializers.DateField(
        write_only=True, required=False, help_text="Default: today."
    )
    change_note = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=300
    )

    class Meta:
        model = Procedure
        fields = [
            "id",
            *compliance.PROCEDURE_FIELDS,
            "controls",
            "current_version",
            "body",
            "effective_from",
            "change_note",
        ]

    def get_current_version(self, obj: Procedure) -> int | None:
        version = compliance.procedure_in_force(obj)
        return version.version if version is not None else None


class ProcedureLinkSerializer(serializers.Serializer[Any]):
    rule = serializers.CharField(help_text="The rule's code.")


class ProcedureViewSet(mixins.CreateModelMixin, CompanyReadOnlyModelViewSet):
    """The back-office procedures manual: procedures, their versions, their controls."""

    model = Procedure
    serializer_class = ProcedureSerializer
    filterset_class = ProcedureFilterSet
    ordering_fields = ["code", "title"]
    select_related = ("company", "owner")
    prefetch_related = ("controls",)
    action_perms = {"link": "change", "unlink": "change"}
    idempotent_actions = ("create", "versions", "link", "unlink")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        def produce() -> Response:
            form = ProcedureSerializer(data=request.data, context=self.get_serializer_context())
            form.is_valid(raise_exception=True)
            procedure = self.call_service(
                compliance.procedure_create,
                form,
                company=request.company,  # type: ignore[attr-defined]
                user=request.user,
                **form.validated_data,
            )
            fresh = self.get_queryset().get(pk=procedure.pk)
            return Response(
                ProcedureSerializer(fresh, context=self.get_serializer_context()).data,
                status=status.HTTP_201_CREATED,
            )

        return idempotent(request, produce)

    def get_permissions(self) -> Any:
        if self.action == "versions" and self.request.method == "POST":
            self.action_perms = {**self.action_perms, "versions": "trading.add_procedureversion"}
        return super().get_permissions()

    @extend_schema(
        request=ProcedureVersionSerializer, responses={200: ProcedureVersionSerializer(many=True)}
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def versions(self, request: Request, pk: str | None = None) -> Any:
        """GET: every version, newest first. POST (``body``, ``effective_from``,
        ``change_note``): add the next version."""
        procedure = self.get_object()
        context = self.get_serializer_context()
        if request.method == "GET":
            rows = ProcedureVersion.objects.filter(procedure=procedure).order_by("-version")
            return Response(ProcedureVersionSerializer(rows, many=True, context=context).data)

        def produce() -> Response:
            form = ProcedureVersionSerializer(data=request.data, context=context)
            form.is_valid(raise_exception=True)
            version = self.call_service(
                compliance.procedure_version_add,
                procedure=procedure,
                body=form.validated_data["body"],
                effective_from=form.validated_data.get("effective_from"),
                change_note=form.validated_data.get("change_note", ""),
                user=request.user,
            )
            return Response(
                ProcedureVersionSerializer(version, context=context).data,
                status=status.HTTP_201_CREATED,
            )

        return idempotent(request, produce)

    def _link(self, request: Request, service: Any) -> Any:
        procedure = self.get_object()

        def produce() -> Response:
            form = ProcedureLinkSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            self.call_service(service, procedure=procedure, rule=form.validated_data["rule"])
            fresh = self.get_queryset().get(pk=procedure.pk)
            return Response(ProcedureSerializer(fresh, context=self.get_serializer_context()).data)

        return idempotent(request, produce)

    @extend_schema(request=ProcedureLinkSerializer, responses={200: ProcedureSerializer})
    @action(detail=True, methods=["post"])
    def link(self, request: Request, pk: str | None = None) -> Any:
        """Link a rule (its code) to the procedure."""
        return self._link(request, compliance.procedure_link)

    @extend_schema(request=ProcedureLinkSerializer, responses={200: ProcedureSerializer})
    @action(detail=True, methods=["post"])
    def unlink(self, request: Request, pk: str | None = None) -> Any:
        """Unlink a rule (its code) from the procedure."""
        return self._link(request, compliance.procedure_unlink)


router.register(
    "trading/compliance-rules", ComplianceRuleViewSet, basename="trading-compliancerule"
)
router.register(
    "trading/restricted-list", RestrictedInstrumentViewSet, basename="trading-restrictedinstrument"
)
router.register("trading/alerts", AlertViewSet, basename="trading-alert")
router.register("trading/procedures", ProcedureViewSet, basename="trading-procedure")

__all__ = [
    "AlertViewSet",
    "ComplianceRuleViewSet",
    "ProcedureViewSet",
    "RestrictedInstrumentViewSet",
]

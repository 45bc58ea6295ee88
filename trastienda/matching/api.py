"""REST API of the exception queue, under ``/api/v1/matching/exceptions/``.

List (filters ``state``, ``source``, ``owner`` = ``me`` / ``none`` / a user id, ``age`` =
``0-7`` / ``8-30`` / ``31-90`` / ``90+``, ``date_from``, ``date_to``, ``q``) and retrieve the
exceptions of the active company; ``POST <id>/assign/`` with ``owner`` (a user id of a member,
``"me"``, or null for nobody) and optionally ``note`` gives it an owner
(:func:`trastienda.matching.queue.exception_assign`). Amounts are decimal strings.
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

from trastienda.core.api import CompanyModelSerializer, CompanyReadOnlyModelViewSet, router
from trastienda.core.money import Money
from trastienda.matching.filters import MatchExceptionFilterSet, company_members
from trastienda.matching.models import MatchException
from trastienda.matching.queue import exception_assign
from trastienda.matching.sources import item_url, source_label


class MatchExceptionSerializer(CompanyModelSerializer):
    amount = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    source_label = serializers.SerializerMethodField()
    item_url = serializers.SerializerMethodField(
        help_text=gettext_lazy("The page where the item is worked on, if any.")
    )
    age_days = serializers.IntegerField(read_only=True)
    owner_username = serializers.CharField(
        source="owner.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = MatchException
        fields = [
            "id",
            "source",
            "source_label",
            "object_id",
            "item_url",
            "summary",
            "amount",
            "currency",
            "item_date",
            "age_days",
            "reason",
            "state",
            "owner",
            "owner_username",
            "note",
            "opened_at",
            "resolved_at",
        ]
        read_only_fields = fields

    def get_currency(self, obj: MatchException) -> str:
        return obj.currency or obj.company.base_currency

    def get_amount(self, obj: MatchException) -> str:
        return str(Money(obj.amount, self.get_currency(obj)).to_decimal())

    def get_source_label(self, obj: MatchException) -> str:
        return source_label(obj.source)

    def get_item_url(self, obj: MatchException) -> str | None:
        return item_url(obj.company.code, obj.source, obj.object_id) or None


class AssignSerializer(serializers.Serializer[Any]):
    owner = serializers.CharField(
        allow_null=True,
        allow_blank=True,
        help_text=gettext_lazy('A member\'s user id, "me", or null for nobody.'),
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text=gettext_lazy("Left out: the note stays as it is."),
    )


class MatchExceptionViewSet(CompanyReadOnlyModelViewSet):
    """What matching runs could not pair, from every source."""

    model = MatchException
    serializer_class = MatchExceptionSerializer
    filterset_class = MatchExceptionFilterSet
    ordering_fields = ["item_date", "amount", "opened_at", "state"]
    select_related = ("company", "owner")
    action_perms = {"assign": "change"}

    @extend_schema(request=AssignSerializer, responses=MatchExceptionSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Give the exception an owner (and a note)."""
        instance = self.get_object()
        form = AssignSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        value = form.validated_data.get("owner")
        owner: Any = None
        if value == "me":
            owner = request.user
        elif value not in (None, ""):
            text = str(value).strip()
            members = company_members(request.company)  # type: ignore[attr-defined]
            owner = members.filter(pk=int(text)).first() if text.isdigit() else None
            if owner is None:
                raise exceptions.ValidationError({"owner": [_("Choose a member of this company.")]})
        self.call_service(
            exception_assign, instance=instance, owner=owner, note=form.validated_data.get("note")
        )
        instance.refresh_from_db()
        return Response(self.get_serializer(instance).data)


router.register("matching/exceptions", MatchExceptionViewSet, basename="matching-exception")

__all__ = ["MatchExceptionViewSet"]

"""The REST API foundation: company-scoped base views, the router, and the platform endpoints.

Everything lives under ``/api/v1/`` (see :mod:`trastienda.core.api_urls`). Clients sign in
with a token (``POST /api/v1/auth/token/`` with ``username`` and ``password``, then
``Authorization: Token <key>``) or with the web session (CSRF enforced on unsafe methods).
A request acts in one company: the one named by the ``X-Company: CODE`` header (or
``?company=CODE``), else the user's default company. A company the user is not a member of
answers 404. Errors have one shape (see :mod:`trastienda.core.rest`).

Exposing a module's model
-------------------------
Write ``<app>/api.py``; it is imported automatically for every installed ``trastienda.*`` app
(like ``admin.py``), so registering there is all it takes::

    from trastienda.core.api import CompanyModelSerializer, CompanyModelViewSet, router

    class DocumentSerializer(CompanyModelSerializer):
        class Meta:
            model = Document
            fields = ["id", "title", "kind", ...]        # never "company"

    class DocumentViewSet(CompanyModelViewSet):
        model = Document
        serializer_class = DocumentSerializer
        filterset_class = DocumentFilterSet              # shared with the UI list; ?q= searches
        ordering_fields = ["title", "document_date"]     # ``?ordering=-document_date``
        create_service = document_create                 # optional: f(*, company, **data)
        update_service = document_update                 # optional: f(*, instance, **data)
        delete_service = document_delete                 # optional: f(*, instance)
        action_perms = {"download": "view"}              # extra actions → permission verb

    router.register("documents", DocumentViewSet, basename="document")

That gives list (paginated, filtered, searched, ordered), retrieve, create (with
``Idempotency-Key``), update, partial update and delete at ``/api/v1/documents/``, each
checked against the role's Django permissions in the active company (view/add/change/delete
of the model), querying only ``Model.objects.for_company(request.company)``. Writes go
through the declared services, or :func:`trastienda.core.services.object_create` /
``object_update`` / ``object_delete`` (the same defaults as the generic views); a Django
``ValidationError`` they raise becomes a 400 naming the fields, and nothing is written.
Related fields of a :class:`CompanyModelSerializer` only accept objects of the active company.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
from collections.abc import Callable, Iterator, Mapping
from pathlib import PurePath
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.module_loading import module_has_submodule
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.relations import ManyRelatedField, RelatedField
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from trastienda.core import context
from trastienda.core import services as core_services
from trastienda.core.filters import CompanyFilterSet
from trastienda.core.job_views import visible_jobs
from trastienda.core.models import Company, IdempotencyKey, Job, Membership, Notification, Role
from trastienda.core.net import client_ip
from trastienda.core.permissions import has_perm, membership_perms
from trastienda.core.rest import (
    MEMBER,
    AuthRateThrottle,
    CompanyPermission,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidCredentials,
    LockedOut,
    django_error_detail,
    error_body,
)
from trastienda.core.tenancy import default_company, membership_for, resolve_company

logger = logging.getLogger("trastienda.api")

router = DefaultRouter()
"""Every module registers its viewsets here, from its own ``api.py``."""
router.include_format_suffixes = False

COMPANY_HEADER = "X-Company"
IDEMPOTENCY_HEADER = "Idempotency-Key"


# --- schema ---------------------------------------------------------------------------------


class Schema(AutoSchema):
    """Documents the company header on company-scoped views and Idempotency-Key on creates."""

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        view = self.view
        if getattr(view, "company_scoped", False):
            params.append(
                OpenApiParameter(
                    COMPANY_HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description=str(
                        gettext_lazy(
                            "Code of the company to act in (or the query parameter `company`); "
                            "default: the user's default company."
                        )
                    ),
                )
            )
        if self.method == "POST" and getattr(view, "action", None) in getattr(
            view, "idempotent_actions", ()
        ):
            params.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description=str(
                        gettext_lazy(
                            "Any unique string (such as a UUID). Sending the same request "
                            "again with the same key returns the first response and creates "
                            "nothing twice; the same key with a different request answers 422."
                        )
                    ),
                )
            )
        return params


ERROR_COMPONENT = {
    "type": "object",
    "description": "Every error the API answers has this shape.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string", "example": "title: This field is required."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        },
    },
    "required": ["error"],
}


def schema_postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular hook: the ``Error`` component as every operation's ``default`` response."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    ref = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "default",
                    {
                        "description": "Error (see the Error schema for codes and fields).",
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result


# --- serializers ----------------------------------------------------------------------------


def is_company_owned(model: Any) -> bool:
    try:
        field = model._meta.get_field("company")
    except Exception:
        return False
    return getattr(field, "related_model", None) is Company


def scope_to_company(queryset: models.QuerySet[Any], company: Company | None) -> Any:
    """Rows of ``company`` only (none without a company)."""
    if company is None:
        return queryset.none()
    if hasattr(queryset, "for_company"):
        return queryset.for_company(company)
    return queryset.filter(company=company)


class CompanyModelSerializer(serializers.ModelSerializer[Any]):
    """ModelSerializer for company-owned records.

    Never exposes ``company`` (it is the request's), and every related field that points to a
    company-owned model accepts only objects of the active company: another company's id is
    "object does not exist", a 400 naming the field.
    """

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields.pop("company", None)
        request = self.context.get("request")
        company = getattr(request, "company", None)
        for field in fields.values():
            relation = field.child_relation if isinstance(field, ManyRelatedField) else field
            if not isinstance(relation, RelatedField):
                continue
            queryset = getattr(relation, "queryset", None)
            if queryset is not None and is_company_owned(queryset.model):
                relation.queryset = scope_to_company(queryset, company)
        return fields


def serializer_field_names(serializer: Any) -> dict[str, str]:
    """``{model attribute: API field name}`` of a serializer (``legal_name`` → ``name``)."""
    names: dict[str, str] = {}
    for name, field in getattr(serializer, "fields", {}).items():
        source = getattr(field, "source", None)
        if source and source != "*":
            names[source] = name
    return names


# --- idempotency ----------------------------------------------------------------------------


def _fingerprint_value(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    return value


def request_fingerprint(request: Request) -> str:
    """SHA-256 of what the request asks for: method, path, company and parsed payload."""
    data = request.data
    if hasattr(data, "lists"):
        payload: Any = {k: [_fingerprint_value(v) for v in vs] for k, vs in data.lists()}
    elif isinstance(data, Mapping):
        payload = {k: _fingerprint_value(v) for k, v in data.items()}
    else:
        payload = data
    company = getattr(request, "company", None)
    blob = json.dumps(
        [request.method, request.path, getattr(company, "code", None), payload],
        sort_keys=True,
        default=str,
        ensure_ascii=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def idempotent(request: Request, produce: Callable[[], Response]) -> HttpResponse:
    """Run ``produce`` at most once per (user, ``Idempotency-Key``); replay its first response.

    The key row is inserted first, in the same transaction as the work: a concurrent duplicate
    waits on the unique constraint and then replays the committed result. Only successful
    (2xx) responses are kept; a failed request leaves no key behind and may be retried.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return produce()
    key = key.strip()
    if not key or len(key) > 255 or not key.isprintable():
        raise exceptions.ValidationError(
            {IDEMPOTENCY_HEADER: [_("Use 1 to 255 printable characters.")]}
        )
    user: Any = request.user
    fingerprint = request_fingerprint(request)
    cutoff = timezone.now() - settings.TRASTIENDA_IDEMPOTENCY_TTL
    IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=cutoff).delete()
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    method=request.method or "",
                    path=request.path[:500],
                    request_hash=fingerprint,
                )
        except IntegrityError:
            first = IdempotencyKey.objects.filter(user=user, key=key).first()
            if first is None:  # pragma: no cover - expired and purged between two statements
                raise IdempotencyKeyInUse() from None
            if first.request_hash != fingerprint:
                raise IdempotencyKeyReused() from None
            if first.status_code is None:  # pragma: no cover - never committed without result
                raise IdempotencyKeyInUse() from None
            replay = HttpResponse(
                bytes(first.response_body or b""),
                status=first.status_code,
                content_type=first.content_type or "application/json",
            )
            replay["Idempotent-Replayed"] = "true"
            return replay
        response = produce()
        if 200 <= response.status_code < 300:
            row.status_code = response.status_code
            row.response_body = JSONRenderer().render(response.data)
            row.content_type = "application/json"
            row.save(update_fields=["status_code", "response_body", "content_type"])
        else:
            transaction.set_rollback(True)
    return response


# --- base views -----------------------------------------------------------------------------


class CompanyScopedMixin:
    """Resolves the request's company right after authentication, and acts as its user there.

    ``perform_authentication`` is the step of DRF's ``initial()`` that authenticates; we resolve
    the company at its end, before permissions and throttles are checked. The actor context
    (user, client address, company, ``source="api"``) that the audit trail reads is set for
    the rest of the request.
    """

    company_scoped: ClassVar[bool] = True
    company_required: ClassVar[bool] = True
    schema: Any = Schema()
    permission_classes: Any = [CompanyPermission]
    idempotent_actions: ClassVar[tuple[str, ...]] = ()
    _actor_token: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        self._actor_token = None
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        finally:
            if self._actor_token is not None:
                context.reset(self._actor_token)
                self._actor_token = None

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)  # type: ignore[misc]
        # An unsupported method is a 405 whoever asks, before any permission is weighed.
        method = (request.method or "").lower()
        if method not in self.http_method_names or getattr(self, method, None) is None:  # type: ignore[attr-defined]
            raise exceptions.MethodNotAllowed(request.method or "")
        self.resolve_company(request)

    def resolve_company(self, request: Request) -> None:
        user = request.user if request.user.is_authenticated else None
        company = membership = None
        if user is not None and self.company_scoped:
            code = request.headers.get(COMPANY_HEADER) or request.query_params.get("company")
            if code:
                company, membership = resolve_company(user, code.strip())
            else:
                company = default_company(request._request)
                membership = membership_for(user, company)
                if membership is None:
                    company = None
        self.activate(request, company, membership)

    def activate(self, request: Request, company: Company | None, membership: Any) -> None:
        """Make ``company`` the request's company (for views that pick it themselves)."""
        for target in (request, request._request):
            target.company = company  # type: ignore[attr-defined]
            target.membership = membership  # type: ignore[attr-defined]
        if self._actor_token is not None:
            context.reset(self._actor_token)
        self._actor_token = context.set_current(
            context.ActorContext(
                user=request.user if request.user.is_authenticated else None,
                ip=client_ip(request),
                company=company,
                source="api",
            )
        )

    def call_service(
        self, service: Callable[..., Any], serializer: Any = None, **kwargs: Any
    ) -> Any:
        """Run a service in a transaction; its ValidationError becomes a 400 naming API fields."""
        try:
            with transaction.atomic():
                return service(**kwargs)
        except DjangoValidationError as exc:
            names = serializer_field_names(serializer)
            detail = {names.get(k, k): v for k, v in django_error_detail(exc).items()}
            raise exceptions.ValidationError(detail) from exc


class CompanyAPIView(CompanyScopedMixin, APIView):
    """A plain API view acting in the request's company."""


class CompanyGenericViewSet(CompanyScopedMixin, viewsets.GenericViewSet):
    """Company-scoped generic viewset: declare ``model`` (see the module docstring)."""

    model: ClassVar[type[models.Model]]
    select_related: ClassVar[tuple[str, ...]] = ()
    prefetch_related: ClassVar[tuple[str, ...]] = ()
    filterset_class: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        model = cls.__dict__.get("model")
        if model is not None and "queryset" not in cls.__dict__:
            cls.queryset = model._default_manager.all()

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()  # the declared queryset, or the model's rows
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        queryset = scope_to_company(queryset, getattr(self.request, "company", None))
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        if self.prefetch_related:
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        serializer = super().get_serializer(*args, **kwargs)
        if isinstance(serializer, serializers.ModelSerializer) and not isinstance(
            serializer, CompanyModelSerializer
        ):
            raise ImproperlyConfigured(
                f"{type(self).__name__}: use a CompanyModelSerializer, so that related fields "
                "are scoped to the active company."
            )
        return serializer


class CompanyReadOnlyModelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, CompanyGenericViewSet
):
    """List and retrieve a company's records."""


class CompanyModelViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    CompanyReadOnlyModelViewSet,
):
    """Full CRUD of a company's records through its services (see the module docstring)."""

    create_service: ClassVar[Callable[..., Any] | None] = None
    update_service: ClassVar[Callable[..., Any] | None] = None
    delete_service: ClassVar[Callable[..., Any] | None] = None
    idempotent_actions = ("create",)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return idempotent(
            request, lambda: super(CompanyModelViewSet, self).create(request, *args, **kwargs)
        )

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        company = self.request.company  # type: ignore[attr-defined]
        service = type(self).create_service
        if service is not None:
            obj = self.call_service(service, serializer, company=company, **data)
        else:
            obj = self.call_service(
                core_services.object_create,
                serializer,
                model=self.model,
                company=company,
                data=data,
            )
        serializer.instance = obj

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        service = type(self).update_service
        if service is not None:
            obj = self.call_service(service, serializer, instance=serializer.instance, **data)
        else:
            obj = self.call_service(
                core_services.object_update, serializer, instance=serializer.instance, data=data
            )
        serializer.instance = obj

    def perform_destroy(self, instance: Any) -> None:
        service = type(self).delete_service
        if service is not None:
            self.call_service(service, instance=instance)
        else:
            self.call_service(core_services.object_delete, instance=instance)


def file_response(file: Any, filename: str) -> FileResponse:
    """A stored file as a download (never rendered inline by the browser)."""
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = FileResponse(
        file.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- authentication -------------------------------------------------------------------------


class TokenObtainSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )
    otp = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("Two-factor code, for users who have set up two-factor sign-in."),
    )


class TokenSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(read_only=True)


class TokenView(CompanyAPIView):
    """Obtain (POST) or revoke (DELETE) the API token of a user.

    POST is subject to the same lockout as the sign-in page (django-axes counts failures by
    username and by client address): a locked-out client answers 429. Users who have set up
    two-factor sign-in must add their current code (or a recovery code) as ``otp``; users who
    must use two-factor (staff, or a role that requires it) but have not set it up cannot
    obtain a token.
    """

    company_scoped = False
    company_required = False
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        request=TokenObtainSerializer, responses={200: TokenSerializer}, auth=[], tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        form = TokenObtainSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        username = form.validated_data["username"]
        user = authenticate(
            request=request, username=username, password=form.validated_data["password"]
        )
        if getattr(request, "axes_locked_out", False):
            raise LockedOut(_("Too many failed sign-in attempts; try again later."))
        if user is None:
            raise InvalidCredentials(_("Unable to sign in with these credentials."))
        self._check_two_factor(request, user, form.validated_data.get("otp", ""))
        token, _created = Token.objects.get_or_create(user=user)
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        session = getattr(request._request, "session", None)
        if session is not None and session.session_key and not dict(session.items()):
            session.flush()  # receivers of user_logged_in may have made an empty session
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def delete(self, request: Request) -> Response:
        if not request.user.is_authenticated or not isinstance(request.auth, Token):
            raise exceptions.NotAuthenticated()
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _check_two_factor(request: Request, user: Any, code: str) -> None:
        """The second factor, by the same rules as the sign-in page (accounts services)."""
        if not settings.TRASTIENDA_TWO_FACTOR_ENFORCED:
            return
        from trastienda.accounts import services as accounts

        if accounts.two_factor_enabled(user):
            if not code.strip():
                raise exceptions.ValidationError(
                    {"otp": [_("Enter the code from your authenticator app.")]}
                )
            try:
                accounts.two_factor_verify(user=user, code=code)
            except DjangoValidationError as exc:
                user_login_failed.send(
                    sender=__name__,
                    credentials={"username": user.get_username()},
                    request=request,
                )
                if getattr(request, "axes_locked_out", False):
                    raise LockedOut(
                        _("Too many failed sign-in attempts; try again later.")
                    ) from exc
                raise exceptions.ValidationError({"otp": exc.messages}) from exc
            return
        if accounts.two_factor_required(user):
            raise exceptions.PermissionDenied(
                _("Your role requires two-factor sign-in: set it up in the web interface first.")
            )


# --- the platform's own endpoints -----------------------------------------------------------


class CompanySerializer(serializers.ModelSerializer[Company]):
    name = serializers.CharField(source="legal_name", max_length=200)
    currency = serializers.CharField(source="base_currency", max_length=3, min_length=3)

    class Meta:
        model = Company
        fields = [
            "code",
            "name",
            "country",
            "tax_id",
            "address",
            "postal_code",
            "city",
            "province",
            "currency",
            "fiscal_year_start_month",
            "language",
        ]
        read_only_fields = ["code"]


class CompanyViewSet(
    CompanyScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The companies the user belongs to. An administrator may change theirs (PATCH)."""

    company_scoped = False
    company_required = False
    serializer_class = CompanySerializer
    queryset = Company.objects.none()
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9-]+"
    http_method_names = ["get", "patch", "head"]
    action_perms = {"list": None, "retrieve": None, "partial_update": None}
    pagination_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> models.QuerySet[Company]:
        if getattr(self, "swagger_fake_view", False):
            return Company.objects.none()
        return Company.objects.for_user(self.request.user).filter(is_active=True).order_by("code")

    def get_object(self) -> Company:
        code = str(self.kwargs[self.lookup_field]).upper()
        self.kwargs[self.lookup_field] = code
        return super().get_object()

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        company = self.get_object()
        self.activate(request, company, membership_for(request.user, company))
        if not has_perm(request, "core.change_company"):
            CompanyPermission._deny(request, self, ["core.change_company"])
            raise exceptions.PermissionDenied(
                _("Your role in %(company)s does not allow this (%(perm)s).")
                % {"company": company.code, "perm": "core.change_company"}
            )
        serializer = self.get_serializer(company, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = self.call_service(
            core_services.company_update, serializer, company=company, **serializer.validated_data
        )
        return Response(self.get_serializer(updated).data)


class MembershipSerializer(serializers.Serializer[Any]):
    company = serializers.CharField(source="company.code")
    company_name = serializers.CharField(source="company.legal_name")
    role = serializers.CharField(source="role.code")
    role_name = serializers.CharField(source="role.display_name")


class MeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.EmailField()
    language = serializers.CharField(allow_blank=True)
    default_company = serializers.CharField(allow_null=True)
    company = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("The company this request acted in.")
    )
    permissions = serializers.ListField(
        child=serializers.CharField(),
        help_text=gettext_lazy("Django permissions of the user's role in that company."),
    )
    memberships = MembershipSerializer(many=True)


class MeView(CompanyAPIView):
    """The signed-in user, their memberships and roles, and their permissions in the company."""

    company_required = False

    @extend_schema(responses=MeSerializer, tags=["me"])
    def get(self, request: Request) -> Response:
        user: Any = request.user
        profile = getattr(user, "profile", None)
        default = profile.default_company if profile is not None else None
        memberships = list(
            Membership.objects.filter(user=user, is_active=True, company__is_active=True)
            .select_related("company", "role")
            .order_by("company__code")
        )
        company = getattr(request, "company", None)
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "language": getattr(profile, "language", ""),
            "default_company": default.code if default is not None else None,
            "company": company.code if company is not None else None,
            "permissions": sorted(membership_perms(getattr(request, "membership", None))),
            "memberships": memberships,
        }
        return Response(MeSerializer(data).data)


class JobFilterSet(CompanyFilterSet):
    search_fields = ("kind", "description", "message")

    class Meta:
        model = Job
        fields = {"status": ["exact"], "kind": ["exact"]}


class JobSerializer(CompanyModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    user = serializers.CharField(source="user.username", read_only=True, allow_null=True)
    result_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "description",
            "status",
            "progress_done",
            "progress_total",
            "percent",
            "message",
            "error",
            "user",
            "result_name",
            "result_url",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_result_url(self, obj: Job) -> str | None:
        if not obj.result_file:
            return None
        return reverse("api:job-result", kwargs={"pk": obj.pk})


class JobViewSet(CompanyReadOnlyModelViewSet):
    """Background jobs of the active company, to poll their progress.

    Members see the jobs they started; roles that manage jobs (``core.change_job``) see every
    job of the company, as on the jobs pages.
    """

    model = Job
    serializer_class = JobSerializer
    filterset_class = JobFilterSet
    ordering_fields = ["created_at", "status", "kind"]
    action_perms = {"list": MEMBER, "retrieve": MEMBER, "result": MEMBER}

    def get_queryset(self) -> models.QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        return visible_jobs(self.request)  # the same rule as the jobs pages

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def result(self, request: Request, pk: str | None = None) -> FileResponse:
        """Download the file a job produced."""
        job = self.get_object()
        if not job.result_file:
            raise exceptions.NotFound(_("This job has no result file."))
        return file_response(
            job.result_file, job.result_name or PurePath(job.result_file.name).name
        )


router.register("companies", CompanyViewSet, basename="company")
router.register("jobs", JobViewSet, basename="job")


# --- company administration: roles and members ----------------------------------------------


class RoleSerializer(CompanyModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    permissions: Any = serializers.SlugRelatedField(
        many=True, slug_field="codename", read_only=True, help_text=gettext_lazy("Codenames.")
    )

    class Meta:
        model = Role
        fields = [
            "id",
            "code",
            "name",
            "description",
            "builtin",
            "customised",
            "requires_two_factor",
            "permissions",
        ]
        read_only_fields = fields


class RoleViewSet(CompanyReadOnlyModelViewSet):
    """The company's roles and their permissions (edited on the administration pages)."""

    model = Role
    serializer_class = RoleSerializer
    ordering_fields = ["code", "name"]

    def get_queryset(self) -> models.QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return Role.objects.none()
        return Role.objects.for_company(self.request.company).prefetch_related(  # type: ignore[attr-defined]
            "permissions"
        )


class MembershipSerializer2(CompanyModelSerializer):
    username = serializers.CharField(source="user.username")
    email = serializers.EmailField(source="user.email", required=False, allow_blank=True)
    first_name = serializers.CharField(source="user.first_name", required=False, allow_blank=True)
    last_name = serializers.CharField(source="user.last_name", required=False, allow_blank=True)
    role = serializers.SlugRelatedField(slug_field="code", queryset=Role.objects.all())

    class Meta:
        model = Membership
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "role",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        company = getattr(request, "company", None)
        if company is not None:
            self.fields["role"].queryset = Role.objects.for_company(company)  # type: ignore[attr-defined]
        if self.instance is not None and not isinstance(self.instance, list | models.QuerySet):
            for name in ("username", "email", "first_name", "last_name"):
                self.fields[name].read_only = True


def _member_add(*, company: Company, user: dict[str, Any], **data: Any) -> Membership:
    return core_services.member_add(company=company, **user, **data)


def _member_update(*, instance: Membership, **data: Any) -> Membership:
    data.pop("user", None)
    data.setdefault("role", instance.role)
    return core_services.member_update(instance=instance, **data)


class MembershipViewSet(CompanyModelViewSet):
    """People of the company and their roles; adding one creates the user if needed."""

    model = Membership
    serializer_class = MembershipSerializer2
    ordering_fields = ["created_at"]
    create_service = _member_add
    update_service = _member_update
    delete_service = core_services.member_remove

    def get_queryset(self) -> models.QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return Membership.objects.for_company(self.request.company).select_related(  # type: ignore[attr-defined]
            "user", "role"
        )


class NotificationSerializer(CompanyModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "level", "message", "url", "created_at", "read_at"]
        read_only_fields = fields


class NotificationViewSet(CompanyGenericViewSet, mixins.ListModelMixin):
    """The signed-in user's notifications (of every company); ``read/`` marks them read."""

    serializer_class = NotificationSerializer
    company_required = False
    action_perms = {"list": MEMBER, "read": MEMBER}

    def get_queryset(self) -> models.QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        user: Any = self.request.user
        return Notification.objects.filter(user=user)

    @extend_schema(request=None, responses={204: None})
    @action(detail=False, methods=["post"])
    def read(self, request: Request) -> Response:
        """Mark every unread notification as read."""
        self.get_queryset().filter(read_at__isnull=True).update(read_at=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


router.register("roles", RoleViewSet, basename="role")
router.register("members", MembershipViewSet, basename="membership")
router.register("notifications", NotificationViewSet, basename="notification")


# --- schema and documentation pages ---------------------------------------------------------


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema (JSON by default, YAML with ``?format=yaml``)."""

    renderer_classes = [
        OpenApiJsonRenderer,
        OpenApiJsonRenderer2,
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,
    ]


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the vendored sidecar; its start-up script is a separate request, so the
    page runs under the strict CSP (``script-src 'self'``, no inline script or style)."""

    url_name = "api:schema"
    template_name = "core/api_docs.html"
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown ``/api/v1/`` paths: a 404 in the API's error format."""
    message = _("There is no API endpoint at %(path)s.") % {"path": request.path}
    if not request.path.endswith("/"):
        try:
            resolved = resolve(request.path + "/")
        except Resolver404:
            resolved = None
        if resolved is not None and resolved.func is not not_found:
            message += " " + _("Did you mean %(path)s/?") % {"path": request.path}
    return JsonResponse(error_body("not_found", message), status=404)


def autodiscover() -> None:
    """Import ``<app>.api`` of every installed Trastienda app, so they register their viewsets."""
    from importlib import import_module

    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith("trastienda.") and module_has_submodule(config.module, "api"):
            import_module(f"{config.name}.api")


def iter_routes() -> Iterator[tuple[str, Any]]:
    """(prefix, viewset) of every registered route, for tests and documentation."""
    for prefix, viewset, _basename in router.registry:
        yield prefix, viewset


__all__ = [
    "MEMBER",
    "CompanyAPIView",
    "CompanyGenericViewSet",
    "CompanyModelSerializer",
    "CompanyModelViewSet",
    "CompanyReadOnlyModelViewSet",
    "autodiscover",
    "file_response",
    "idempotent",
    "router",
]

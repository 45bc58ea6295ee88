"""Company scoping: the one mechanism that decides which company a request acts in.

Web pages carry the company code in their URL (``/c/<code>/...``). The middleware resolves
it, checks the user's membership, and sets ``request.company`` and ``request.membership``;
a company the user does not belong to answers 404, exactly like an object that does not
exist. Views, the API, exports and jobs then read business records only through
``Model.objects.for_company(company)``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from trastienda.core import context
from trastienda.core.models import Company, Membership
from trastienda.core.net import client_ip

SESSION_KEY = "active_company"


def membership_for(user: Any, company: Company | None) -> Membership | None:
    if company is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.select_related("role")
        .filter(user=user, company=company, is_active=True, company__is_active=True)
        .first()
    )


def resolve_company(user: Any, code: str) -> tuple[Company, Membership]:
    """The company with ``code`` and the user's membership in it, or Http404."""
    company = Company.objects.filter(code=code.upper(), is_active=True).first()
    membership = membership_for(user, company)
    if company is None or membership is None:
        raise Http404("No such company.")
    return company, membership


def default_company(request: HttpRequest) -> Company | None:
    """The company to act in when the URL names none: last used, preferred, or the first."""
    user = request.user
    if not user.is_authenticated:
        return None
    companies = Company.objects.for_user(user).filter(is_active=True)
    code = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if code:
        found = companies.filter(code=code).first()
        if found:
            return found
    profile = getattr(user, "profile", None)
    if profile is not None and profile.default_company_id:
        found = companies.filter(pk=profile.default_company_id).first()
        if found:
            return found
    return companies.first()


class TenancyMiddleware:
    """Sets ``request.company``/``request.membership`` and the actor context of the request."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        request.company = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.client_ip = client_ip(request)  # type: ignore[attr-defined]
        user = request.user if getattr(request, "user", None) is not None else None
        token = context.set_current(
            context.ActorContext(
                user=user if user is not None and user.is_authenticated else None,
                ip=request.client_ip,  # type: ignore[attr-defined]
                source="web",
            )
        )
        try:
            return self.get_response(request)
        finally:
            context.reset(token)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: dict[str, Any]
    ) -> None:
        code = view_kwargs.pop("company", None)
        if code is None:
            return None
        if not request.user.is_authenticated:
            return None  # the view's login requirement answers
        company, membership = resolve_company(request.user, code)
        request.company = company  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        if request.session.get(SESSION_KEY) != company.code:
            request.session[SESSION_KEY] = company.code
        ctx = context.current()
        context.set_current(
            context.ActorContext(user=ctx.user, ip=ctx.ip, company=company, source=ctx.source)
        )
        return None

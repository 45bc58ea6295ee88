"""Operations that write companies, users and memberships.

Each service validates everything first, then writes inside one transaction. The UI, the
REST API, the CLI and the demo all call these functions.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trastienda.core.models import COMPANY_CODE_VALIDATOR, Company, Membership, Role, UserProfile
from trastienda.core.permissions import BUILTIN_BY_CODE, roles_sync
from trastienda.core.validators import normalise_tax_id

FORBIDDEN_USERNAMES = frozenset({"admin", "administrator", "root", "superuser", "sa", "system"})


def company_create(
    *,
    code: str,
    legal_name: str,
    country: str,
    tax_id: str,
    base_currency: str = "EUR",
    fiscal_year_start_month: int = 1,
    language: str = "en",
) -> Company:
    """Create a company with its built-in roles. Raises ValidationError naming the field."""
    code = (code or "").strip().upper()
    errors: dict[str, list[str]] = {}
    try:
        COMPANY_CODE_VALIDATOR(code)
    except ValidationError as exc:
        errors["code"] = exc.messages
    if code and Company.objects.filter(code=code).exists():
        errors.setdefault("code", []).append(_("A company with this code already exists."))
    if not (legal_name or "").strip():
        errors["legal_name"] = [_("Enter the legal name.")]
    try:
        tax_id = normalise_tax_id(country, tax_id)
    except ValidationError as exc:
        errors["tax_id"] = exc.messages
    if not (isinstance(base_currency, str) and len(base_currency) == 3 and base_currency.isalpha()):
        errors["base_currency"] = [_("Use a three-letter ISO 4217 code, such as EUR.")]
    if not 1 <= int(fiscal_year_start_month) <= 12:
        errors["fiscal_year_start_month"] = [_("Enter a month from 1 to 12.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        company = Company(
            code=code,
            legal_name=legal_name.strip(),
            country=country,
            tax_id=tax_id,
            base_currency=base_currency.upper(),
            fiscal_year_start_month=int(fiscal_year_start_month),
            language=language,
        )
        company.full_clean()
        company.save()
        roles_sync([company])
    return company


def company_update(*, company: Company, **fields: Any) -> Company:
    """Change a company's settings (not its code). Raises ValidationError naming the field."""
    allowed = {"legal_name", "country", "tax_id", "base_currency", "fiscal_year_start_month",
               "language", "logo", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    country = fields.get("country", company.country)
    if "tax_id" in fields or "country" in fields:
        try:
            fields["tax_id"] = normalise_tax_id(country, fields.get("tax_id", company.tax_id))
        except ValidationError as exc:
            raise ValidationError({"tax_id": exc.messages}) from exc
    with transaction.atomic():
        locked = Company.objects.select_for_update().get(pk=company.pk)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save()
    return locked


def user_create(
    *,
    username: str,
    password: str | None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    language: str = "",
    is_staff: bool = False,
) -> Any:
    """Create a user. Refuses reserved names such as ``admin`` and weak passwords."""
    user_model = get_user_model()
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [_("Enter a username.")]
    elif username.lower() in FORBIDDEN_USERNAMES:
        errors["username"] = [_("This username is reserved; choose a personal one.")]
    elif user_model.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("A user with this username already exists.")]
    candidate = user_model(
        username=username, email=email, first_name=first_name, last_name=last_name
    )
    if password is not None:
        try:
            validate_password(password, candidate)
        except ValidationError as exc:
            errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        candidate.is_staff = is_staff
        candidate.is_superuser = is_staff
        if password is None:
            candidate.set_unusable_password()
        else:
            candidate.set_password(password)
        candidate.save()
        UserProfile.objects.create(user=candidate, language=language)
    return candidate


def membership_set(*, company: Company, user: Any, role_code: str) -> Membership:
    """Give ``user`` the role ``role_code`` in ``company`` (creating the membership if needed)."""
    role = Role.objects.filter(company=company, code=role_code).first()
    if role is None:
        known = ", ".join(sorted(BUILTIN_BY_CODE))
        raise ValidationError({"role": [_("Unknown role %(code)s (built-in: %(known)s).")
                                        % {"code": role_code, "known": known}]})
    with transaction.atomic():
        membership, _created = Membership.objects.update_or_create(
            company=company, user=user, defaults={"role": role, "is_active": True}
        )
        profile, _made = UserProfile.objects.get_or_create(user=user)
        if profile.default_company_id is None:
            profile.default_company = company
            profile.save(update_fields=["default_company"])
    return membership

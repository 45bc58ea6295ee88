"""Operations that write companies, users and memberships.

Each service validates everything first, then writes inside one transaction. The UI, the
REST API, the CLI and the demo all call these functions.
"""

from __future__ import annotations

from collections.abc import Callable
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

# Steps run inside company_create's transaction, after the roles: modules that need set-up per
# company (the ledger's chart of accounts and journals) register one in AppConfig.ready(),
# so core never imports them.
COMPANY_SETUP_STEPS: list[Callable[[Company], None]] = []


def company_setup_step(step: Callable[[Company], None]) -> Callable[[Company], None]:
    """Register ``step(company)`` to run for every new company (idempotent)."""
    if step not in COMPANY_SETUP_STEPS:
        COMPANY_SETUP_STEPS.append(step)
    return step


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
        for step in COMPANY_SETUP_STEPS:
            step(company)
    return company


def company_update(*, company: Company, **fields: Any) -> Company:
    """Change a company's settings (not its code). Raises ValidationError naming the field."""
    allowed = {
        "legal_name",
        "country",
        "tax_id",
        "base_currency",
        "fiscal_year_start_month",
        "language",
        "logo",
        "is_active",
        "address",
        "postal_code",
        "city",
        "province",
    }
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
        raise ValidationError(
            {
                "role": [
                    _("Unknown role %(code)s (built-in: %(known)s).")
                    % {"code": role_code, "known": known}
                ]
            }
        )
    with transaction.atomic():
        membership, _created = Membership.objects.update_or_create(
            company=company, user=user, defaults={"role": role, "is_active": True}
        )
        profile, _made = UserProfile.objects.get_or_create(user=user)
        if profile.default_company_id is None:
            profile.default_company = company
            profile.save(update_fields=["default_company"])
    return membership


# --- generic writes for plain records -------------------------------------------------------
# Modules whose records have no workflow use these through the generic views and the API;
# records with rules of their own declare their own services instead.


def object_create(*, model: Any, company: Company, data: dict[str, Any]) -> Any:
    """Create a ``CompanyOwned`` record from cleaned ``data`` (many-to-many values included)."""
    m2m = {f.name: data.pop(f.name) for f in model._meta.many_to_many if f.name in data}
    obj = model(company=company, **data)
    obj.full_clean()
    with transaction.atomic():
        obj.save()
        for name, values in m2m.items():
            getattr(obj, name).set(values)
    return obj


def object_update(*, instance: Any, data: dict[str, Any]) -> Any:
    """Change fields of a ``CompanyOwned`` record; the company never changes."""
    data.pop("company", None)
    m2m = {f.name: data.pop(f.name) for f in instance._meta.many_to_many if f.name in data}
    for name, value in data.items():
        setattr(instance, name, value)
    instance.full_clean()
    with transaction.atomic():
        instance.save()
        for name, values in m2m.items():
            getattr(instance, name).set(values)
    return instance


def object_delete(*, instance: Any) -> None:
    """Delete a record; a record still referenced elsewhere raises ValidationError."""
    from django.db.models import ProtectedError, RestrictedError

    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise ValidationError(
            _("%(obj)s is still used by other records and cannot be deleted.") % {"obj": instance}
        ) from exc


def role_update(
    *,
    instance: Role,
    name: str,
    description: str = "",
    permissions: Any = (),
    requires_two_factor: bool = False,
) -> Role:
    """Edit a role; a built-in role edited here is marked customised (module installs leave it)."""
    if not (name or "").strip():
        raise ValidationError({"name": [_("Enter a name.")]})
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=instance.pk)
        role.name = name.strip()
        role.description = description
        role.requires_two_factor = requires_two_factor
        role.customised = role.builtin or role.customised
        role.save()
        role.permissions.set(list(permissions))
    return role


def role_create(
    *,
    company: Company,
    code: str,
    name: str,
    description: str = "",
    permissions: Any = (),
    requires_two_factor: bool = False,
) -> Role:
    """Add a company-specific role."""
    errors: dict[str, list[str]] = {}
    if not (name or "").strip():
        errors["name"] = [_("Enter a name.")]
    if Role.objects.filter(company=company, code=code).exists():
        errors["code"] = [_("A role with this code already exists.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        role = Role(
            company=company,
            code=code,
            name=name.strip(),
            description=description,
            requires_two_factor=requires_two_factor,
        )
        role.full_clean()
        role.save()
        role.permissions.set(list(permissions))
    return role


def role_delete(*, instance: Role) -> None:
    if instance.builtin:
        raise ValidationError(_("Built-in roles cannot be deleted; edit them instead."))
    if instance.memberships.exists():
        raise ValidationError(_("This role is still given to members."))
    with transaction.atomic():
        instance.delete()


def member_add(
    *,
    company: Company,
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    role: Role,
    is_active: bool = True,
) -> Membership:
    """Add a person to the company: an existing user by username, or a new user by e-mail.

    New users get no usable password: they set one through the password-reset e-mail.
    """
    if role.company_id != company.pk:
        raise ValidationError({"role": [_("Choose a role of this company.")]})
    user_model = get_user_model()
    user = user_model.objects.filter(username__iexact=(username or "").strip()).first()
    with transaction.atomic():
        if user is None:
            user = user_create(
                username=username,
                password=None,
                email=email,
                first_name=first_name,
                last_name=last_name,
            )
        elif Membership.objects.filter(company=company, user=user).exists():
            raise ValidationError({"username": [_("This user is already a member.")]})
        membership = membership_set(company=company, user=user, role_code=role.code)
        if not is_active:
            membership.is_active = False
            membership.save(update_fields=["is_active"])
    return membership


def member_update(*, instance: Membership, role: Role, is_active: bool = True) -> Membership:
    """Change a member's role or suspend them. The last active administrator stays."""
    if role.company_id != instance.company_id:
        raise ValidationError({"role": [_("Choose a role of this company.")]})
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=instance.pk)
        admins = Membership.objects.filter(
            company=membership.company, role__code="administrator", is_active=True
        ).exclude(pk=membership.pk)
        losing_admin = membership.role.code == "administrator" and (
            role.code != "administrator" or not is_active
        )
        if losing_admin and not admins.exists():
            raise ValidationError(
                {"role": [_("The company needs at least one active administrator.")]}
            )
        membership.role = role
        membership.is_active = is_active
        membership.save()
    return membership


def member_remove(*, instance: Membership) -> None:
    if (
        instance.role.code == "administrator"
        and not Membership.objects.filter(
            company=instance.company, role__code="administrator", is_active=True
        )
        .exclude(pk=instance.pk)
        .exists()
    ):
        raise ValidationError(_("The company needs at least one active administrator."))
    with transaction.atomic():
        instance.delete()

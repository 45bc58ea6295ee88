import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from trastienda.core import services
from trastienda.core.models import Company, Membership, Role
from trastienda.core.permissions import BUILTIN_ROLES, membership_perms
from trastienda.core.validators import normalise_tax_id


@pytest.mark.parametrize(
    ("country", "raw", "expected"),
    [
        ("ES", "B-12345674", "B12345674"),
        ("ES", "es 12345678z", "12345678Z"),
        ("ES", "X1234567L", "X1234567L"),
        ("IT", "IT 00743110157", "00743110157"),
        ("IT", "RSSMRA85T10A562S", "RSSMRA85T10A562S"),
        ("FR", "40303265045", "FR40303265045"),
        ("US", "12-3456789", "123456789"),
    ],
)
def test_tax_ids_are_validated_and_normalised(country, raw, expected):
    assert normalise_tax_id(country, raw) == expected


@pytest.mark.parametrize(
    ("country", "raw"),
    [
        ("ES", "B12345678"),
        ("IT", "00743110158"),
        ("FR", "12"),
        ("ES", ""),
    ],
)
def test_invalid_tax_ids_are_refused(country, raw):
    with pytest.raises(ValidationError):
        normalise_tax_id(country, raw)


def test_company_create_seeds_builtin_roles(db):
    company = services.company_create(
        code="es01", legal_name="Ferretería S.L.", country="ES", tax_id="B12345674"
    )
    assert company.code == "ES01"
    codes = set(Role.objects.filter(company=company).values_list("code", flat=True))
    assert codes == {spec.code for spec in BUILTIN_ROLES}
    admin = Role.objects.get(company=company, code="administrator")
    assert admin.requires_two_factor
    assert admin.permissions.filter(codename="delete_document").exists()
    auditor = Role.objects.get(company=company, code="auditor")
    names = set(auditor.permissions.values_list("codename", flat=True))
    assert "view_document" in names and "view_all_audit" in names
    assert not [n for n in names if n.startswith(("add_", "change_", "delete_"))]


def test_company_create_names_every_bad_field_and_writes_nothing(db):
    with pytest.raises(ValidationError) as info:
        services.company_create(
            code="a",
            legal_name="",
            country="ES",
            tax_id="B00000001",
            base_currency="EURO",
            fiscal_year_start_month=13,
        )
    assert set(info.value.message_dict) == {
        "code",
        "legal_name",
        "tax_id",
        "base_currency",
        "fiscal_year_start_month",
    }
    assert Company.objects.count() == 0 and Role.objects.count() == 0


def test_duplicate_company_code_refused(company):
    with pytest.raises(ValidationError) as info:
        services.company_create(code="acme", legal_name="Other", country="ES", tax_id="A58818501")
    assert "code" in info.value.message_dict


@pytest.mark.parametrize("name", ["admin", "Admin", "root", "administrator"])
def test_reserved_usernames_are_refused(db, name):
    with pytest.raises(ValidationError) as info:
        services.user_create(username=name, password="Sufficiently-Long-9")
    assert "username" in info.value.message_dict
    assert not get_user_model().objects.exists()


def test_weak_password_refused(db):
    with pytest.raises(ValidationError) as info:
        services.user_create(username="laura", password="1234")
    assert "password" in info.value.message_dict


def test_membership_grants_role_permissions(accountant, company):
    membership = Membership.objects.get(user=accountant, company=company)
    perms = membership_perms(membership)
    assert "documents.add_document" in perms and "core.export_data" in perms
    assert "core.change_company" not in perms and "core.view_all_audit" not in perms


def test_only_chief_accountants_post_before_the_lock_and_close_years(make_user, company):
    chief = make_user("ines", company=company, role="chief_accountant")
    clerk_of_books = make_user("tomas", company=company, role="accountant")
    chief_perms = membership_perms(Membership.objects.get(user=chief, company=company))
    accountant_perms = membership_perms(
        Membership.objects.get(user=clerk_of_books, company=company)
    )
    for perm in ("ledger.post_before_lock", "ledger.change_fiscalyear"):
        assert perm in chief_perms and perm not in accountant_perms
    # Otherwise the two roles hold the same books permissions.
    assert chief_perms - accountant_perms == {
        "ledger.post_before_lock",
        "ledger.change_fiscalyear",
    }


def test_role_update_marks_builtin_customised_and_sync_respects_it(company):
    from trastienda.core.permissions import roles_sync

    clerk = Role.objects.get(company=company, code="clerk")
    services.role_update(instance=clerk, name="Front desk", permissions=[])
    clerk.refresh_from_db()
    assert clerk.customised and clerk.permissions.count() == 0
    roles_sync([company])
    assert clerk.permissions.count() == 0
    accountant = Role.objects.get(company=company, code="accountant")
    assert accountant.permissions.exists()


def test_last_administrator_cannot_be_demoted(make_user, company):
    boss = make_user("lucia", company=company, role="administrator")
    membership = Membership.objects.get(user=boss, company=company)
    clerk = Role.objects.get(company=company, code="clerk")
    with pytest.raises(ValidationError):
        services.member_update(instance=membership, role=clerk)
    membership.refresh_from_db()
    assert membership.role.code == "administrator"


def test_member_add_creates_user_without_password(company):
    role = Role.objects.get(company=company, code="clerk")
    membership = services.member_add(
        company=company, username="pablo", email="p@example.com", first_name="Pablo", role=role
    )
    assert membership.user.username == "pablo" and not membership.user.has_usable_password()
    with pytest.raises(ValidationError):
        services.member_add(company=company, username="pablo", email="", role=role)

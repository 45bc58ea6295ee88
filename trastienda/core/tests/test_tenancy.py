"""Company scoping: the URL names the company; non-members see 404 everywhere."""

from django.urls import reverse

from trastienda.core.models import Membership
from trastienda.documents import services as documents


def test_home_redirects_to_default_company(client, accountant, company):
    client.force_login(accountant)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard", kwargs={"company": "ACME"})


def test_switching_company_by_url_remembers_it(client, accountant, company, other_company):
    from trastienda.core.services import membership_set

    membership_set(company=other_company, user=accountant, role_code="auditor")
    client.force_login(accountant)
    page = client.get(reverse("dashboard", kwargs={"company": "OTRA"}))
    assert page.status_code == 200
    assert page.context["company"] == other_company
    assert page.context["membership"].role.code == "auditor"
    assert client.get(reverse("home"))["Location"].endswith("/c/OTRA/")
    assert b'data-company="ACME"' in page.content  # the switcher offers both


def test_non_member_gets_404_not_403(client, accountant, other_company):
    documents.document_create(company=other_company, title="Theirs")
    client.force_login(accountant)
    for name in ("dashboard", "search"):
        assert client.get(reverse(name, kwargs={"company": "OTRA"})).status_code == 404
    assert client.get("/c/NOPE/").status_code == 404


def test_suspended_membership_loses_access(client, accountant, company):
    Membership.objects.filter(user=accountant).update(is_active=False)
    client.force_login(accountant)
    assert client.get(reverse("dashboard", kwargs={"company": "ACME"})).status_code == 404


def test_anonymous_is_sent_to_login(client, company):
    response = client.get(reverse("documents:document_list", kwargs={"company": "ACME"}))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_scoped_manager_filters_by_company(company, other_company):
    from trastienda.documents.models import Document

    documents.document_create(company=company, title="Mine")
    documents.document_create(company=other_company, title="Theirs")
    assert [d.title for d in Document.objects.for_company(company)] == ["Mine"]


def test_language_switch_saves_preference(csrf_client, accountant, company):
    csrf_client.force_login(accountant)
    page = csrf_client.get(reverse("dashboard", kwargs={"company": "ACME"}))
    token = page.cookies["csrftoken"].value
    assert csrf_client.get(reverse("core:set_language")).status_code == 405
    response = csrf_client.post(
        reverse("core:set_language"),
        {"language": "it", "next": "/c/ACME/", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and response["Location"] == "/c/ACME/"
    accountant.profile.refresh_from_db()
    assert accountant.profile.language == "it"


def test_language_switch_refuses_foreign_redirect(client, accountant):
    client.force_login(accountant)
    response = client.post(
        reverse("core:set_language"), {"language": "es", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_admin_pages_for_administrator_only(client, make_user, company, accountant):
    boss = make_user("lucia", company=company, role="administrator")
    client.force_login(accountant)
    for name in (
        "company_admin:settings",
        "company_admin:role_list",
        "company_admin:membership_list",
    ):
        assert client.get(reverse(name, kwargs={"company": "ACME"})).status_code == 403
    client.force_login(boss)
    # Administrators must enrol in two-factor first; a verified session sees the pages.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    for name in (
        "company_admin:settings",
        "company_admin:role_list",
        "company_admin:membership_list",
    ):
        assert client.get(reverse(name, kwargs={"company": "ACME"})).status_code == 200


def test_company_settings_refuses_invalid_tax_id(client, make_user, company):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    boss = make_user("lucia", company=company, role="administrator")
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    client.force_login(boss)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    response = client.post(
        reverse("company_admin:settings", kwargs={"company": "ACME"}),
        {
            "legal_name": "Acme",
            "country": "ES",
            "tax_id": "B00000001",
            "base_currency": "EUR",
            "fiscal_year_start_month": 1,
            "language": "es",
        },
    )
    assert response.status_code == 400
    assert "tax_id" in response.context["form"].errors
    company.refresh_from_db()
    assert company.tax_id == "B12345674" and company.legal_name == "Acme Ibérica S.L."


def test_dashboard_shows_widgets_with_chart_data(client, accountant, company):
    documents.document_create(company=company, title="Policy", kind="policy")
    client.force_login(accountant)
    page = client.get(reverse("dashboard", kwargs={"company": "ACME"}))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-chart="widget-0"' in body and 'type="application/json"' in body
    assert page.context["widgets"][0]["widget"]["total"] == 1
    assert "<script>" not in body  # no inline script: the CSP forbids it


def test_forms_scoped_after_construction_refuse_another_companys_record(
    company: object, other_company: object
) -> None:
    """A bound form is not validated while it is built: the querysets that ``set_company``
    narrows afterwards are the ones validation uses (another company's account refused)."""
    from trastienda.ledger.forms import LedgerSettingsForm
    from trastienda.ledger.models import Account, LedgerSettings

    foreign = Account.objects.filter(company=other_company, postable=True).first()
    assert foreign is not None
    form = LedgerSettingsForm(
        data={"exchange_gain_account": foreign.pk},
        instance=LedgerSettings.objects.get(company=company),
    )
    form.set_company(company)
    assert not form.is_valid()
    assert "exchange_gain_account" in form.errors
    assert "is-invalid" in form.fields["exchange_gain_account"].widget.attrs["class"]

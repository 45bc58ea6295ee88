"""Companies, memberships, roles, and the platform records every module relies on.

Depends on nothing else in Trastienda; every other app depends on it.

Invariants
- A company code is unique, upper-case ``[A-Z0-9-]{2,16}``; it appears in URLs and the CLI.
- A user reaches a company's data only through a :class:`Membership`, whose :class:`Role`
  (a set of Django permissions, editable per company) says what they may do there.
- Every business record subclasses :class:`CompanyOwned`; queries go through
  ``Model.objects.for_company(company)`` (see :mod:`trastienda.core.tenancy`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

COMPANY_CODE_VALIDATOR = RegexValidator(
    r"^[A-Z0-9][A-Z0-9-]{1,15}$",
    _("Use 2 to 16 capital letters, digits or hyphens, starting with a letter or digit."),
)


class Country(models.TextChoices):
    SPAIN = "ES", _("Spain")
    ITALY = "IT", _("Italy")
    PORTUGAL = "PT", _("Portugal")
    FRANCE = "FR", _("France")
    GERMANY = "DE", _("Germany")
    UNITED_KINGDOM = "GB", _("United Kingdom")
    UNITED_STATES = "US", _("United States")
    OTHER = "ZZ", _("Other")


class Language(models.TextChoices):
    SPANISH = "es", "Español"
    ITALIAN = "it", "Italiano"
    ENGLISH = "en", "English"


class CompanyQuerySet(models.QuerySet["Company"]):
    def for_user(self, user: Any) -> CompanyQuerySet:
        """Companies the user is a member of."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(memberships__user=user, memberships__is_active=True).distinct()


class Company(models.Model):
    """A legal entity whose books and records Trastienda keeps."""

    code = models.CharField(
        _("code"), max_length=16, unique=True, validators=[COMPANY_CODE_VALIDATOR]
    )
    legal_name = models.CharField(_("legal name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    tax_id = models.CharField(_("tax id"), max_length=32)
    address = models.CharField(_("address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=100, blank=True)
    base_currency = models.CharField(_("base currency"), max_length=3, default="EUR")
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("fiscal year starts in month"), default=1
    )
    language = models.CharField(
        _("default language"), max_length=2, choices=Language.choices, default=Language.ENGLISH
    )
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["code"]
        permissions = [
            ("export_data", _("Can export data")),
            ("view_all_audit", _("Can view the audit trail")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fiscal_year_start_month__gte=1)
                & models.Q(fiscal_year_start_month__lte=12),
                name="company_fiscal_month_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.legal_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.code = self.code.upper().strip()
        self.base_currency = self.base_currency.upper().strip()
        self.tax_id = self.tax_id.strip()
        super().save(*args, **kwargs)


class CompanyScopedQuerySet(models.QuerySet[Any]):
    """The one way to read business records: always through ``for_company``."""

    def for_company(self, company: Company) -> CompanyScopedQuerySet:
        return self.filter(company=company)


class Role(models.Model):
    """A named set of permissions inside one company (built-in ones are seeded, all editable)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="roles")
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    builtin = models.BooleanField(_("built-in"), default=False)
    customised = models.BooleanField(
        _("customised"),
        default=False,
        help_text=_("Customised built-in roles are not updated when new modules are installed."),
    )
    requires_two_factor = models.BooleanField(_("requires two-factor"), default=False)
    permissions = models.ManyToManyField(Permission, blank=True, verbose_name=_("permissions"))

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["company", "name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="role_company_code_unique"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the reader's language while a built-in role keeps its built-in name."""
        from trastienda.core.permissions import BUILTIN_BY_CODE

        spec = BUILTIN_BY_CODE.get(self.code) if self.builtin and not self.customised else None
        return str(spec.name) if spec is not None else str(self.name)


class Membership(models.Model):
    """A user's place in a company: the role they act in there."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["company", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "user"], name="membership_company_user_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company.code} ({self.role})"


class UserProfile(models.Model):
    """Per-user preferences that Django's user model does not hold."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    language = models.CharField(
        _("language"),
        max_length=2,
        choices=Language.choices,
        blank=True,
        help_text=_("Empty: follow the browser."),
    )
    default_company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    table_columns = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self) -> str:
        return str(self.user)


class CompanyOwned(models.Model):
    """Abstract base of every business record: it belongs to exactly one company."""

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="+", verbose_name=_("company")
    )

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class Notification(models.Model):
    """An in-app message to one user (job finished, reminder, approval waiting...)."""

    class Level(models.TextChoices):
        INFO = "info", _("Information")
        SUCCESS = "success", _("Success")
        WARNING = "warning", _("Warning")
        ERROR = "error", _("Error")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    company = models.ForeignKey(Company, on_delete=models.CASCADE, null=True, blank=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    message = models.CharField(_("message"), max_length=500)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.message


class Job(models.Model):
    """A background job a user started, with its progress and outcome."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="jobs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    error = models.TextField(_("error"), blank=True)
    params = models.JSONField(default=dict, blank=True)
    result_file = models.FileField(upload_to="jobs/", blank=True)
    result_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(100, (self.progress_done * 100) // self.progress_total)


class IdempotencyKey(models.Model):
    """The first response to an API create request sent with an ``Idempotency-Key`` header."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique"),
        ]

    def __str__(self) -> str:
        return self.key

"""The Django admin (at ``TRASTIENDA_ADMIN_URL``) requires the second factor.

:class:`TrastiendaAdminSite` is django-otp's ``OTPAdminSite`` (only sessions verified by a
device get in) with a one-step sign-in form: username, password and code, all checked through
``authenticate(request=...)`` and so counted and blocked by django-axes like any sign-in.
:meth:`trastienda.accounts.apps.AccountsConfig.ready` gives ``admin.site`` this class.
"""

from __future__ import annotations

from django_otp.admin import OTPAdminSite

from trastienda.accounts.forms import AdminLoginForm


class TrastiendaAdminSite(OTPAdminSite):
    login_form = AdminLoginForm
    login_template = "accounts/admin_login.html"

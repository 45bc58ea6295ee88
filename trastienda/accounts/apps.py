from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Sign-in, two-factor authentication, lockout, sessions and passwords.

    Depends on core (and on the audit app for its trail); nothing depends on it but settings.
    """

    name = "trastienda.accounts"
    label = "accounts"
    verbose_name = _("Accounts and sign-in")

    def ready(self) -> None:
        from django.contrib import admin
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import pre_save

        from trastienda.accounts import signals
        from trastienda.accounts.admin_site import TrastiendaAdminSite

        user_logged_in.connect(signals.on_logged_in, dispatch_uid="accounts_logged_in")
        user_logged_out.connect(signals.on_logged_out, dispatch_uid="accounts_logged_out")
        pre_save.connect(
            signals.refuse_reserved_username,
            sender=get_user_model(),
            dispatch_uid="accounts_reserved_username",
        )
        # django-otp's documented way: the default admin site requires a verified device.
        admin.site.__class__ = TrastiendaAdminSite

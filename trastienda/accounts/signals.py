"""Bookkeeping on sign-in and sign-out, and the guard against reserved account names.

Failed sign-ins, sign-ins, sign-outs and lockouts are written to the audit trail by
:mod:`trastienda.audit` from the same Django and django-axes signals.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from trastienda.accounts import services
from trastienda.accounts.middleware import LAST_SEEN, LOGIN_AT


def on_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Start the session's clocks (absolute and idle timeouts)."""
    session = getattr(request, "session", None)
    if session is not None and SESSION_KEY in session:  # a browser session, not an API token
        now = int(time.time())
        session[LOGIN_AT] = now
        session[LAST_SEEN] = now


def on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        services.session_forget(session_key=session.session_key)


def refuse_reserved_username(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """No account may be created with, or renamed to, a reserved name such as ``admin``.

    ``core.services.user_create`` refuses them with a form error; this is the backstop for
    every other path (the Django admin, ``createsuperuser``, a shell).
    """
    from trastienda.core.services import FORBIDDEN_USERNAMES

    username = (instance.get_username() or "").strip().casefold()
    if username not in FORBIDDEN_USERNAMES:
        return
    renamed = (
        not instance._state.adding
        and type(instance)
        ._default_manager.filter(pk=instance.pk)
        .exclude(username=instance.get_username())
        .exists()
    )
    if instance._state.adding or renamed:
        raise ValidationError(
            {"username": [_("This username is reserved; choose a personal one.")]}
        )

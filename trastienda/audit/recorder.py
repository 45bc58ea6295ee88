"""Automatic audit of creates, updates and deletes of business records.

Recorded: every concrete subclass of :class:`~trastienda.core.models.CompanyOwned`, and core's
``Company``, ``Role`` and ``Membership``, including their many-to-many fields (a role's
``permissions`` are recorded as ``"app_label.codename"`` lists).

How: ``post_init`` keeps a snapshot of each loaded instance's field values; ``post_save`` and
``post_delete`` compare and append one entry with ``{field: [before, after]}`` through
:func:`trastienda.audit.services.append_entry`, in the transaction of the change (a rolled-back
change leaves no entry). A save costs the chain-head lock and the insert, nothing more; an
update that changes nothing is not recorded. ``m2m_changed`` reads the related set before and
after the change (one query each).

Not recorded, because Django sends no signals for them: ``QuerySet.update()``,
``bulk_create()`` and ``bulk_update()``; services that use them call ``audit_log`` themselves.
Auto timestamps (``auto_now``/``auto_now_add``) are left out of diffs; file fields are
recorded by name; secret fields (see :data:`SECRET_WORDS` and a model's
``audit_secret_fields``) are recorded only as changed, never by value; a model's
``audit_exclude`` names fields to leave out entirely.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import models
from django.db.models.fields.files import FieldFile
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save

from trastienda.audit.hashing import json_safe
from trastienda.audit.models import AuditAction
from trastienda.core import context
from trastienda.core.models import Company, CompanyOwned, Membership, Role

SNAPSHOT_ATTR = "_audit_snapshot"
M2M_BEFORE_ATTR = "_audit_m2m_before"
SECRET_WORDS = ("password", "secret", "token", "otp", "api_key", "private_key", "passphrase")
REDACTED = "***"
CORE_MODELS: tuple[type[models.Model], ...] = (Company, Role, Membership)

_enabled: ContextVar[bool] = ContextVar("trastienda_audit_recording", default=True)


@contextlib.contextmanager
def recording_disabled() -> Iterator[None]:
    """Do not record model changes inside this block (bulk maintenance that logs a summary)."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


@dataclass(frozen=True)
class _Field:
    name: str
    attname: str
    secret: bool


@dataclass(frozen=True)
class _Spec:
    object_type: str
    fields: tuple[_Field, ...]
    is_company: bool
    # attnames whose values are copied as they are (immutable), and those that go through
    # _raw (files, JSON): every loaded instance is snapshotted, so this path is hot
    plain: tuple[str, ...] = ()
    special: tuple[str, ...] = ()


_SPECS: dict[type[models.Model], _Spec] = {}
# through model -> (source model, m2m field name, source fk name, target fk name, target model)
_M2M: dict[type[models.Model], tuple[type[models.Model], str, str, str, type[models.Model]]] = {}


def tracked_models() -> list[type[models.Model]]:
    """Models whose changes are recorded (CompanyOwned subclasses and core's own)."""
    found: list[type[models.Model]] = []
    for model in apps.get_models():
        if model in CORE_MODELS or issubclass(model, CompanyOwned):
            found.append(model)
    return found


def _spec_for(model: type[models.Model]) -> _Spec:
    meta = model._meta
    concrete = meta.concrete_model._meta if meta.concrete_model else meta
    exclude = set(getattr(model, "audit_exclude", ()))
    secret_names = set(getattr(model, "audit_secret_fields", ()))
    fields = []
    plain: list[str] = []
    special: list[str] = []
    for field in meta.concrete_fields:
        if field.primary_key or field.name in exclude:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        lowered = field.name.lower()
        secret = field.name in secret_names or any(word in lowered for word in SECRET_WORDS)
        fields.append(_Field(field.name, field.attname, secret))
        mutable = isinstance(field, models.FileField | models.JSONField)
        (special if mutable else plain).append(field.attname)
    return _Spec(
        object_type=f"{concrete.app_label}.{concrete.model_name}",
        fields=tuple(fields),
        is_company=issubclass(model, Company),
        plain=tuple(plain),
        special=tuple(special),
    )


# --- snapshots and diffs ----------------------------------------------------------------------


def _raw(value: Any) -> Any:
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, dict | list):
        return copy.deepcopy(value)
    return value


def _snapshot(instance: models.Model, spec: _Spec) -> dict[str, Any]:
    data = instance.__dict__
    snapshot = {name: data[name] for name in spec.plain if name in data}
    for name in spec.special:
        if name in data:
            snapshot[name] = _raw(data[name])
    return snapshot


def _on_init(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    spec = _SPECS.get(sender)
    if spec is not None:
        instance.__dict__[SNAPSHOT_ATTR] = _snapshot(instance, spec)


def _value(value: Any, secret: bool) -> Any:
    if secret:
        return REDACTED if value not in (None, "") else value
    return json_safe(_raw(value))


def _diff(
    spec: _Spec,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    only: Iterable[str] | None = None,
) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields that differ (all non-empty on create/delete)."""
    wanted = set(only) if only is not None else None
    changes: dict[str, list[Any]] = {}
    for f in spec.fields:
        if wanted is not None and f.name not in wanted and f.attname not in wanted:
            continue
        if before is not None and f.attname not in before:
            continue  # deferred when loaded: the old value is unknown
        if after is not None and f.attname not in after:
            continue
        old = None if before is None else json_safe(_raw(before[f.attname]))
        new = None if after is None else json_safe(_raw(after[f.attname]))
        if before is None or after is None:
            if (new if before is None else old) in (None, ""):
                continue
        elif old == new:
            continue
        if f.secret:
            changes[f.name] = [_value(old, True), _value(new, True)]
        else:
            changes[f.name] = [old, new]
    return changes


def _company_id(instance: models.Model, spec: _Spec, *, deleting: bool = False) -> int | None:
    if spec.is_company:
        # A deleted company cannot be the entry's company (the reference would dangle).
        return None if deleting else instance.pk
    value = getattr(instance, "company_id", None)
    return value if isinstance(value, int) else None


def _append(
    *,
    action: str,
    instance: models.Model,
    spec: _Spec,
    changes: dict[str, Any],
    deleting: bool = False,
) -> None:
    from trastienda.audit.services import append_entry, user_fields

    ctx = context.current()
    user_pk, username = user_fields(ctx.user)
    append_entry(
        action=action,
        company_id=_company_id(instance, spec, deleting=deleting),
        user_pk=user_pk,
        username=username,
        ip=ctx.ip,
        object_type=spec.object_type,
        object_id="" if instance.pk is None else str(instance.pk),
        object_repr=str(instance),
        changes=changes,
        extra={"source": ctx.source} if ctx.source else None,
    )


def _on_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool = False,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    spec = _SPECS.get(sender)
    if spec is None or raw or not _enabled.get():
        return
    after = _snapshot(instance, spec)
    if created:
        changes = _diff(spec, None, after)
        action = AuditAction.CREATE
    else:
        before = instance.__dict__.get(SNAPSHOT_ATTR)
        if before is None:
            before = {}
        changes = _diff(spec, before, after, update_fields)
        action = AuditAction.UPDATE
    instance.__dict__[SNAPSHOT_ATTR] = after
    if action == AuditAction.UPDATE and not changes:
        return
    _append(action=action, instance=instance, spec=spec, changes=changes)


def _on_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    spec = _SPECS.get(sender)
    if spec is None or not _enabled.get():
        return
    before = {**_snapshot(instance, spec), **instance.__dict__.get(SNAPSHOT_ATTR, {})}
    changes = _diff(spec, before, None)
    _append(action=AuditAction.DELETE, instance=instance, spec=spec, changes=changes, deleting=True)


# --- many-to-many -----------------------------------------------------------------------------


def _labels(
    through: type[models.Model],
    source_name: str,
    target_name: str,
    target: Any,
    source_ids: Iterable[Any],
) -> dict[Any, list[str]]:
    """``{source id: sorted labels of its related objects}`` in one query.

    Permissions are labelled ``"app_label.codename"``, anything else by primary key.
    """
    ids = list(source_ids)
    result: dict[Any, list[str]] = {pk: [] for pk in ids}
    if not ids:
        return result
    qs = through._default_manager.filter(**{f"{source_name}__in": ids})
    if target is Permission:
        rows = qs.values_list(
            source_name,
            f"{target_name}__content_type__app_label",
            f"{target_name}__codename",
        )
        for src, app_label, codename in rows:
            result[src].append(f"{app_label}.{codename}")
    else:
        for src, pk in qs.values_list(source_name, target_name):
            result[src].append(str(pk))
    for labels in result.values():
        labels.sort()
    return result


def _on_m2m(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    reverse: bool,
    model: type[models.Model],
    pk_set: set[Any] | None,
    **kwargs: Any,
) -> None:
    info = _M2M.get(sender)
    if info is None or not _enabled.get():
        return
    source_model, field_name, source_name, target_name, target = info
    if reverse:
        # instance is a target object; pk_set holds source objects' ids.
        if action == "pre_clear":
            ids = list(
                sender._default_manager.filter(**{target_name: instance.pk}).values_list(
                    source_name, flat=True
                )
            )
        else:
            ids = sorted(pk_set or ())
    else:
        ids = [instance.pk]
    if action.startswith("pre_"):
        before = _labels(sender, source_name, target_name, target, ids)
        stash = instance.__dict__.setdefault(M2M_BEFORE_ATTR, {})
        stash[(sender, action[4:])] = before
        return
    stash = instance.__dict__.get(M2M_BEFORE_ATTR, {})
    before = stash.pop((sender, action[5:]), None)
    if before is None:
        return
    after = _labels(sender, source_name, target_name, target, before.keys())
    sources = (
        {instance.pk: instance}
        if not reverse
        else source_model._default_manager.in_bulk(list(before.keys()))
    )
    spec = _SPECS[source_model]
    for pk, old in before.items():
        new = after.get(pk, [])
        source = sources.get(pk)
        if old == new or source is None:
            continue
        _append(
            action=AuditAction.UPDATE,
            instance=source,
            spec=spec,
            changes={field_name: [old, new]},
        )


# --- wiring -----------------------------------------------------------------------------------


def connect() -> None:
    """Connect the receivers for every tracked model (called from ``AuditConfig.ready``)."""
    for model in tracked_models():
        _SPECS[model] = _spec_for(model)
        uid = f"trastienda_audit_{model._meta.label_lower}"
        post_init.connect(_on_init, sender=model, dispatch_uid=uid)
        post_save.connect(_on_save, sender=model, dispatch_uid=uid)
        post_delete.connect(_on_delete, sender=model, dispatch_uid=uid)
        for field in model._meta.local_many_to_many:
            remote = field.remote_field
            through = remote.through
            if not isinstance(through, type) or not through._meta.auto_created:
                continue  # an explicit through model is recorded by its own saves, if tracked
            _M2M[through] = (
                model,
                field.name,
                field.m2m_field_name(),
                field.m2m_reverse_field_name(),
                remote.model,
            )
            m2m_changed.connect(_on_m2m, sender=through, dispatch_uid=f"{uid}_{field.name}")

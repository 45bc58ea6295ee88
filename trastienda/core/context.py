"""Who is acting, from where, in which company: set once per request, job or command.

The audit trail and the tenancy checks read this instead of passing a request around,
so services stay plain functions callable from the UI, the API, the CLI and jobs alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class ActorContext:
    user: Any = None
    ip: str | None = None
    company: Any = None
    source: str = "system"  # web, api, cli, job, system


_current: ContextVar[ActorContext] = ContextVar("trastienda_actor", default=ActorContext())  # noqa: B039


def current() -> ActorContext:
    return _current.get()


@contextlib.contextmanager
def acting(**changes: Any) -> Iterator[ActorContext]:
    """Run a block as a given actor: ``with acting(user=u, company=c, source="cli"): ...``."""
    ctx = replace(_current.get(), **changes)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def set_current(ctx: ActorContext) -> Any:
    return _current.set(ctx)


def reset(token: Any) -> None:
    _current.reset(token)

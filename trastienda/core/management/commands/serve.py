"""``trastienda serve [ADDR:PORT]``: serve the back office with gunicorn.

Before starting it refuses a database with unapplied migrations (run ``trastienda migrate``)
and collects the static files. Defaults: ``127.0.0.1:8000``, ``WEB_CONCURRENCY`` workers (or
``2 x cores + 1``, at most 8). With ``DEBUG=1`` the same server runs, serving static files
straight from the apps. Background jobs need ``trastienda worker`` running beside it.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

DEFAULT_ADDRPORT = "127.0.0.1:8000"
_ADDRPORT = re.compile(r"^(?:(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(?P<port>\d{1,5})$")


def parse_addrport(value: str) -> str:
    """``"8000"`` → ``"127.0.0.1:8000"``; ``"0.0.0.0:80"`` and ``"[::1]:8000"`` stay."""
    match = _ADDRPORT.match(value.strip())
    if not match or not 0 < int(match["port"]) < 65536:
        raise CommandError(f"addrport: {value!r} is not ADDR:PORT or PORT (e.g. 127.0.0.1:8000)")
    host = match["host"] or "127.0.0.1"
    return f"{host}:{int(match['port'])}"


def default_workers() -> int:
    from_env = os.environ.get("WEB_CONCURRENCY", "")
    if from_env.isdigit() and int(from_env) > 0:
        return int(from_env)
    return min(2 * (os.cpu_count() or 1) + 1, 8)


def gunicorn_argv(*, bind: str, workers: int, reload: bool = False) -> list[str]:
    """The command line that runs the WSGI application under gunicorn."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "trastienda.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--timeout",
        "120",
        "--graceful-timeout",
        "30",
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
    ]
    if reload:
        argv.append("--reload")
    if _gunicorn_version() >= (25,):
        # Newer gunicorns open a control socket in ~/.gunicorn; two servers would share it.
        argv.append("--no-control-socket")
    return argv


def _gunicorn_version() -> tuple[int, ...]:
    import gunicorn

    return tuple(gunicorn.version_info)


def unapplied_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


class Command(BaseCommand):
    help = "Serve the back office with gunicorn (default 127.0.0.1:8000)."
    requires_system_checks: list[str] = []  # run below, with a clearer message

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport",
            nargs="?",
            default=DEFAULT_ADDRPORT,
            help="ADDR:PORT or PORT to listen on (default 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Gunicorn worker processes (default WEB_CONCURRENCY or 2 x cores + 1).",
        )
        parser.add_argument(
            "--reload",
            action="store_true",
            help="Restart when the code changes (development only).",
        )
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="Do not collect static files first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bind = parse_addrport(options["addrport"])
        workers = options["workers"] or default_workers()
        if workers < 1:
            raise CommandError("workers: use at least 1.")
        call_command("check")
        pending = unapplied_migrations()
        if pending:
            raise CommandError(
                f"database: {len(pending)} migration(s) not applied ({', '.join(pending[:5])}"
                f"{'…' if len(pending) > 5 else ''}). Run `trastienda migrate` first."
            )
        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        mode = "DEBUG" if settings.DEBUG else "production"
        self.stdout.write(f"Trastienda on http://{bind}/ ({mode}, {workers} workers)")
        self.stdout.flush()
        argv = gunicorn_argv(bind=bind, workers=workers, reload=options["reload"])
        os.execv(argv[0], argv)  # noqa: S606 - our own interpreter, fixed arguments

"""``trastienda demo [--no-serve]``: a back office to try out, on this machine only.

Applies migrations, creates (or completes) the demo data, prints the demo logins, then
serves on 127.0.0.1:8000 with DEBUG on and a background-job worker beside it. Running it
again creates nothing twice. The demo password is for a local trial only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from trastienda.core.demo import DEMO_PASSWORD, demo_logins, demo_run
from trastienda.core.management.commands.serve import parse_addrport


class Command(BaseCommand):
    help = "Create the demo data, print the demo logins and serve on 127.0.0.1:8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport",
            nargs="?",
            default="127.0.0.1:8000",
            help="Where to serve (default 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Only create the demo data and print the logins.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bind = parse_addrport(options["addrport"])
        self.stdout.write("Applying migrations…")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Creating demo data…")
        demo_run(log=self.stdout.write)
        self.print_logins(bind)
        if not options["no_serve"]:
            self.serve(bind)

    def print_logins(self, bind: str) -> None:
        logins = demo_logins()
        width = max((len(login.username) for login in logins), default=8)
        name_width = max((len(login.name) for login in logins), default=4)
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS("Demo logins (every user has the same password):"))
        out(f"  password: {DEMO_PASSWORD}   (demo only: never use it on a reachable server)")
        out("")
        out(f"  {'username':<{width}}  {'name':<{name_width}}  roles")
        out(f"  {'-' * width}  {'-' * name_width}  {'-' * 30}")
        for login in logins:
            out(
                f"  {login.username:<{width}}  {login.name:<{name_width}}  {', '.join(login.roles)}"
            )
        out("")
        out("Administrators set up two-factor authentication at their first sign-in.")
        out(f"Open http://{bind}/accounts/login/")
        out("")

    def serve(self, bind: str) -> None:
        """Run the web server and a job worker as children, with DEBUG on; stop both together."""
        env = {**os.environ, "DEBUG": "1"}
        base = [sys.executable, "-m", "trastienda"]
        self.stdout.flush()
        worker = subprocess.Popen([*base, "worker"], env=env)  # noqa: S603 - fixed arguments
        server = subprocess.Popen(  # noqa: S603 - fixed arguments
            [*base, "serve", bind, "--workers", "2", "--no-collectstatic"], env=env
        )

        def stop(signum: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            code = server.wait()
        except KeyboardInterrupt:
            code = 0
        finally:
            for child in (server, worker):
                if child.poll() is None:
                    child.terminate()
            for child in (server, worker):
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
        if code:
            sys.exit(code)

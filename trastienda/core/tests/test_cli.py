"""The ``trastienda`` command line: createcompany, createuser, serve, worker."""

import io
import sys
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from trastienda.cli import main
from trastienda.core.management.commands import serve
from trastienda.core.models import Company, Membership
from trastienda.core.permissions import BUILTIN_ROLES

PASSWORD = "Correct-Horse-Battery-9"


def run(*args, stdin=""):
    """Run ``trastienda ARGS`` in this process; return (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        # A command closes the connections when it ends: that would end the test's transaction.
        with mock.patch.object(connections, "close_all"):
            main(["trastienda", *args])
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def test_help_lists_trastienda_commands():
    status, out, _err = run("help")
    assert status == 0
    for name in (
        "serve",
        "demo",
        "worker",
        "createcompany",
        "createuser",
        "backup",
        "restore",
        "migrate",
        "check",
    ):
        assert f"    {name}\n" in out


@pytest.mark.django_db
def test_createcompany():
    status, out, err = run(
        "createcompany",
        "--code",
        "es02",
        "--name",
        "Talleres Norte S.L.",
        "--country",
        "ES",
        "--tax-id",
        "ES-B87654323",
        "--language",
        "es",
    )
    assert (status, err) == (0, "")
    assert "Created company ES02 · Talleres Norte S.L. (tax id B87654323)." in out
    company = Company.objects.get(code="ES02")
    assert (company.base_currency, company.language, company.country) == ("EUR", "es", "ES")
    assert company.roles.count() == len(BUILTIN_ROLES)


@pytest.mark.django_db
def test_createcompany_errors_name_the_field_and_write_nothing():
    status, _out, err = run(
        "createcompany",
        "--code",
        "ES02",
        "--name",
        "X S.L.",
        "--country",
        "ES",
        "--tax-id",
        "B12345678",
        "--currency",
        "EURO",
    )
    assert status == 1
    assert "tax_id: B12345678 is not a valid tax id for ES" in err
    assert "base_currency: Use a three-letter ISO 4217 code, such as EUR." in err
    assert Company.objects.count() == 0


@pytest.mark.django_db
def test_createuser_with_password_from_stdin_and_role(company):
    status, out, err = run(
        "createuser",
        "--username",
        "ana.ruiz",
        "--email",
        "ana@example.com",
        "--first-name",
        "Ana",
        "--company",
        "acme",
        "--role",
        "clerk",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert (status, err) == (0, "")
    assert "Created user ana.ruiz as clerk in ACME." in out
    user = get_user_model().objects.get(username="ana.ruiz")
    assert user.check_password(PASSWORD)
    assert (user.email, user.first_name, user.is_superuser) == ("ana@example.com", "Ana", False)
    assert Membership.objects.get(user=user, company=company).role.code == "clerk"


@pytest.mark.django_db
def test_createuser_without_password_is_unusable_until_set():
    status, out, _err = run("createuser", "--username", "ana.ruiz", "--email", "a@example.com")
    assert status == 0
    assert "No password set: run `trastienda changepassword ana.ruiz`." in out
    assert not get_user_model().objects.get(username="ana.ruiz").has_usable_password()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--username", "admin"], PASSWORD, "username: This username is reserved"),
        (["--username", "ana"], "short", "password: This password is too short."),
        (
            ["--username", "ana", "--company", "NOPE", "--role", "clerk"],
            PASSWORD,
            "company: no company with code 'NOPE'.",
        ),
        (
            ["--username", "ana", "--company", "ACME", "--role", "boss"],
            PASSWORD,
            "role: Unknown role boss",
        ),
        (
            ["--username", "ana", "--company", "ACME"],
            PASSWORD,
            "company: --company and --role go together.",
        ),
        (["--username", "ana"], "", "password: standard input had no password."),
    ],
)
def test_createuser_errors_name_the_field_and_write_nothing(company, args, stdin, message):
    users = get_user_model().objects.count()
    status, _out, err = run(
        "createuser", "--email", "x@example.com", "--password-stdin", *args, stdin=stdin
    )
    assert status == 1
    assert message in err
    assert get_user_model().objects.count() == users
    assert Membership.objects.count() == 0


def test_addrport_parsing():
    assert serve.parse_addrport("8001") == "127.0.0.1:8001"
    assert serve.parse_addrport("0.0.0.0:80") == "0.0.0.0:80"
    assert serve.parse_addrport("[::1]:8000") == "[::1]:8000"
    assert serve.parse_addrport("localhost:8000") == "localhost:8000"
    for bad in ("", "host", "1.2.3.4:99999", "a b:80"):
        with pytest.raises(CommandError):
            serve.parse_addrport(bad)


@pytest.mark.django_db
def test_serve_runs_gunicorn_after_checks(monkeypatch):
    calls = []
    monkeypatch.setattr(serve.os, "execv", lambda path, argv: calls.append(argv))
    call_command("serve", "127.0.0.1:8123", workers=3, no_collectstatic=True)
    (argv,) = calls
    assert argv[:4] == [sys.executable, "-m", "gunicorn", "trastienda.wsgi:application"]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert argv[argv.index("--workers") + 1] == "3"


@pytest.mark.django_db
def test_serve_refuses_unapplied_migrations(monkeypatch):
    monkeypatch.setattr(serve, "unapplied_migrations", lambda: ["ledger.0002_balances"])
    monkeypatch.setattr(serve.os, "execv", lambda *a: pytest.fail("must not start"))
    with pytest.raises(CommandError) as info:
        call_command("serve", no_collectstatic=True)
    assert str(info.value) == (
        "database: 1 migration(s) not applied (ledger.0002_balances). "
        "Run `trastienda migrate` first."
    )


def test_default_workers(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert serve.default_workers() == 5
    monkeypatch.delenv("WEB_CONCURRENCY")
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 2)
    assert serve.default_workers() == 5
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 16)
    assert serve.default_workers() == 8


def test_worker_runs_the_huey_consumer_with_every_job_kind(monkeypatch, capsys):
    from huey.contrib.djhuey import HUEY

    consumers = []

    class Consumer:
        def run(self):
            consumers.append("ran")

    def create_consumer(**options):
        consumers.append(options)
        return Consumer()

    monkeypatch.setattr(HUEY, "create_consumer", create_consumer)
    call_command("worker", workers=3)
    options, ran = consumers
    assert ran == "ran"
    assert options["workers"] == 3 and options["worker_type"] == "thread"
    assert options["periodic"] is True
    assert "core.export" in capsys.readouterr().out
    names = set(HUEY._registry._registry)
    assert "trastienda.core.jobs.job_run_task" in names
    assert "trastienda.core.jobs.daily_maintenance" in names
    assert "trastienda.core.jobs.hourly_maintenance" in names

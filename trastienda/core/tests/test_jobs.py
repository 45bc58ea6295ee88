"""Background jobs: start, progress, result, failure, pages, download, periodic purge."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from trastienda.audit.models import AuditEntry
from trastienda.core import context, jobs
from trastienda.core.jobs import JobResult, Progress, job_function, job_start
from trastienda.core.models import IdempotencyKey, Job, Notification

SEEN = {}


@job_function("tests.count")
def count_job(job, progress):
    SEEN["context"] = context.current()
    total = job.params["n"]
    for i in range(1, total + 1):
        progress(i, total, "Counting")
    SEEN["rows"] = list(Job.objects.filter(pk=job.pk).values_list("progress_done", flat=True))
    return JobResult(filename="count result.csv", content=f"n\n{total}\n".encode())


@job_function("tests.nothing")
def nothing_job(job, progress):
    return None


@job_function("tests.fails")
def failing_job(job, progress):
    progress(1, 4, "Reading line 1")
    raise ValueError("Line 3: amount 'abc' is not a number.")


@job_function("tests.invalid")
def invalid_job(job, progress):
    raise ValidationError({"amount": ["Enter a number."], "__all__": ["Nothing imported."]})


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    SEEN.clear()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Start a job and run it as the worker would (Huey is immediate in tests)."""

    def start(company, user, kind, **kw):
        with django_capture_on_commit_callbacks(execute=True):
            job = job_start(
                company=company,
                user=user,
                kind=kind,
                description=kw.pop("description", "Test job"),
                **kw,
            )
        job.refresh_from_db()
        return job

    return start


def test_job_runs_as_its_user_with_progress_result_and_notification(run, company, accountant):
    job = run(company, accountant, "tests.count", params={"n": 3})
    assert job.status == Job.Status.DONE
    assert (job.progress_done, job.progress_total, job.message) == (3, 3, "Counting")
    assert job.percent == 100
    assert job.started_at is not None and job.finished_at >= job.started_at
    assert job.result_name == "count_result.csv"
    with job.result_file.open("rb") as handle:
        assert handle.read() == b"n\n3\n"
    ctx = SEEN["context"]
    assert (ctx.user, ctx.company, ctx.source) == (accountant, company, "job")
    note = Notification.objects.get(user=accountant)
    assert note.level == "success"
    assert note.message == "Finished: Test job"
    assert note.url == f"/c/ACME/jobs/{job.pk}/"
    assert note.company == company


def test_job_without_result_file(run, company, accountant):
    job = run(company, accountant, "tests.nothing")
    assert job.status == Job.Status.DONE
    assert not job.result_file
    assert job.result_name == ""


def test_progress_is_written_to_the_row_and_throttled(company, accountant):
    job = Job.objects.create(company=company, user=accountant, kind="tests.count")
    progress = Progress(job, interval=3600)
    for i in range(10_001):
        progress(i, 10_000, "Rows")
    # Once per percentage point (0 % ... 100 %), not ten thousand times.
    assert progress.writes == 101
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total, job.message) == (10_000, 10_000, "Rows")
    assert job.percent == 100


def test_progress_writes_when_the_interval_has_passed(company, accountant):
    job = Job.objects.create(company=company, user=accountant, kind="tests.count")
    progress = Progress(job, interval=0)
    for i in range(5):
        progress(i, 1000)
    progress(4, 1000)  # unchanged: not written again
    assert progress.writes == 5
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total) == (4, 1000)
    assert job.percent == 0


def test_failure_is_recorded_notified_and_audited(run, company, accountant):
    job = run(company, accountant, "tests.fails", description="Import of bank lines")
    assert job.status == Job.Status.FAILED
    assert job.error == "Line 3: amount 'abc' is not a number."
    assert (job.progress_done, job.progress_total, job.message) == (1, 4, "Reading line 1")
    assert not job.result_file
    note = Notification.objects.get(user=accountant)
    assert (note.level, note.message) == ("error", "Failed: Import of bank lines")
    entry = AuditEntry.objects.get(action="job_failed")
    assert entry.company_id == company.pk
    assert entry.user_id == accountant.pk
    assert (entry.object_type, entry.object_id) == ("core.job", str(job.pk))
    assert entry.extra == {"kind": "tests.fails", "error": "Line 3: amount 'abc' is not a number."}


def test_validation_errors_are_shown_by_field(run, company, accountant):
    job = run(company, accountant, "tests.invalid")
    assert job.status == Job.Status.FAILED
    assert job.error == "amount: Enter a number.; Nothing imported."


def test_unknown_kind_is_refused_and_nothing_written(company, accountant):
    with pytest.raises(ValidationError) as info:
        job_start(company=company, user=accountant, kind="tests.nope", params={})
    assert info.value.message_dict == {"kind": ["Unknown kind of job: tests.nope."]}
    assert Job.objects.count() == 0


def test_params_must_be_json(company, accountant):
    with pytest.raises(ValidationError) as info:
        job_start(company=company, user=accountant, kind="tests.count", params={"n": object()})
    assert list(info.value.message_dict) == ["params"]
    assert Job.objects.count() == 0


def test_job_is_queued_only_when_the_transaction_commits(
    company, accountant, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(jobs, "job_run_task", queued.append)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        job_start(company=company, user=accountant, kind="tests.count", params={"n": 1})
        raise RuntimeError("rolled back")
    assert queued == []
    assert Job.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(company=company, user=accountant, kind="tests.count", params={"n": 1})
    assert queued == [job.pk]
    assert Job.objects.get().status == Job.Status.QUEUED


def test_a_job_runs_once(run, company, accountant):
    job = run(company, accountant, "tests.count", params={"n": 2})
    assert jobs.job_execute(job_id=job.pk) is None
    assert Notification.objects.filter(user=accountant).count() == 1


# --- pages -------------------------------------------------------------------------------------


def url(job, name="job_detail"):
    return reverse(name, kwargs={"company": job.company.code, "pk": job.pk})


@pytest.fixture
def people(make_user, company):
    return {
        "owner": make_user("owner", company=company, role="accountant"),
        "clerk": make_user("clerk", company=company, role="clerk"),
        "boss": make_user("boss", company=company, role="administrator"),
    }


def test_list_shows_own_jobs_and_administrators_see_all(client, run, company, people):
    mine = run(
        company, people["owner"], "tests.count", params={"n": 2}, description="Export of invoices"
    )
    list_url = reverse("job_list", kwargs={"company": company.code})
    client.force_login(people["owner"])
    body = client.get(list_url).content.decode()
    assert "Export of invoices" in body and url(mine) in body
    client.force_login(people["clerk"])
    body = client.get(list_url).content.decode()
    assert "Export of invoices" not in body and "No jobs yet." in body
    client.force_login(people["boss"])
    response = client.get(list_url)
    assert [j.pk for j in response.context["jobs"]] == [mine.pk]


def test_detail_polls_while_running_and_stops_when_done(client, company, people):
    job = Job.objects.create(
        company=company,
        user=people["owner"],
        kind="tests.count",
        status=Job.Status.RUNNING,
        progress_done=42,
        progress_total=100,
        message="Writing rows",
        description="Big export",
    )
    client.force_login(people["owner"])
    page = client.get(url(job)).content.decode()
    assert "<html" in page and "Big export" in page
    assert f'hx-get="{url(job)}"' in page and 'hx-trigger="every 1s"' in page
    assert 'data-width="42"' in page and "Writing rows" in page
    assert "style=" not in page and "<script>" not in page
    fragment = client.get(url(job), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and 'data-width="42"' in fragment
    assert 'hx-trigger="every 1s"' in fragment
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, progress_done=100)
    fragment = client.get(url(job), headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment and 'data-width="100"' in fragment


def test_detail_shows_the_error_of_a_failed_job(client, run, company, people):
    job = run(company, people["owner"], "tests.fails")
    client.force_login(people["owner"])
    page = client.get(url(job)).content.decode()
    assert "The job failed." in page
    assert "Line 3: amount &#x27;abc&#x27; is not a number." in page
    assert "hx-trigger" not in page


def test_other_members_and_companies_cannot_see_a_job(
    client, run, company, other_company, people, make_user
):
    job = run(company, people["owner"], "tests.count", params={"n": 1})
    client.force_login(people["clerk"])
    assert client.get(url(job)).status_code == 404
    assert client.get(url(job, "job_download")).status_code == 404
    outsider = make_user("outsider", company=other_company, role="administrator")
    client.force_login(outsider)
    assert client.get(url(job)).status_code == 404
    other_url = reverse("job_detail", kwargs={"company": other_company.code, "pk": job.pk})
    assert client.get(other_url).status_code == 404


def test_download_by_owner_and_administrator_is_audited(client, run, company, people):
    job = run(company, people["owner"], "tests.count", params={"n": 5})
    for who in ("owner", "boss"):
        client.force_login(people[who])
        response = client.get(url(job, "job_download"))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"n\n5\n"
        assert response["Content-Disposition"] == 'attachment; filename="count_result.csv"'
    entries = AuditEntry.objects.filter(action="export").order_by("seq")
    assert [e.username for e in entries] == ["owner", "boss"]
    assert entries[0].extra == {"job": job.pk, "kind": "tests.count", "file": "count_result.csv"}


def test_download_of_a_job_without_file_is_404(client, run, company, people):
    job = run(company, people["owner"], "tests.fails")
    client.force_login(people["owner"])
    assert client.get(url(job, "job_download")).status_code == 404
    assert not AuditEntry.objects.filter(action="export").exists()


def test_pages_need_a_login(client, company, people):
    job = Job.objects.create(company=company, user=people["owner"], kind="tests.count")
    response = client.get(url(job))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- periodic maintenance ----------------------------------------------------------------------


def test_daily_purge_deletes_expired_keys_and_old_read_notifications(company, accountant):
    now = timezone.now()
    old_key = IdempotencyKey.objects.create(
        user=accountant, key="old", method="POST", path="/x", request_hash="h"
    )
    IdempotencyKey.objects.filter(pk=old_key.pk).update(created_at=now - timedelta(hours=25))
    IdempotencyKey.objects.create(
        user=accountant, key="new", method="POST", path="/x", request_hash="h"
    )
    read_old = Notification.objects.create(user=accountant, message="old, read")
    read_recent = Notification.objects.create(user=accountant, message="recent, read")
    unread_old = Notification.objects.create(user=accountant, message="old, unread")
    Notification.objects.filter(pk=read_old.pk).update(read_at=now - timedelta(days=91))
    Notification.objects.filter(pk=read_recent.pk).update(read_at=now - timedelta(days=1))
    Notification.objects.filter(pk=unread_old.pk).update(created_at=now - timedelta(days=400))

    assert jobs.maintenance_purge(now=now) == {"idempotency_keys": 1, "notifications": 1}
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert sorted(Notification.objects.values_list("message", flat=True)) == [
        "old, unread",
        "recent, read",
    ]


def test_daily_maintenance_is_a_periodic_task_at_night():
    # Huey's scheduler hands periodic tasks naive UTC times.
    task = jobs.daily_maintenance.task_class()
    assert task.validate_datetime(datetime(2026, 3, 1, 3, 17, tzinfo=UTC).replace(tzinfo=None))
    assert not task.validate_datetime(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).replace(tzinfo=None))


def test_a_job_speaks_its_users_language(run, company, make_user):
    lucia = make_user("lucia", company=company, role="accountant", language="es")
    job = run(company, lucia, "tests.fails", description="Importación")
    assert Notification.objects.get(user=lucia).message == "Fallida: Importación"
    assert job.error == "Line 3: amount 'abc' is not a number."


def test_jobs_left_running_by_a_stopped_worker_are_failed(company, accountant):
    now = timezone.now()
    stuck = Job.objects.create(
        company=company,
        user=accountant,
        kind="tests.count",
        status=Job.Status.RUNNING,
        started_at=now - timedelta(hours=13),
    )
    busy = Job.objects.create(
        company=company,
        user=accountant,
        kind="tests.count",
        status=Job.Status.RUNNING,
        started_at=now - timedelta(hours=1),
    )
    assert jobs.jobs_fail_stale(now=now) == 1
    stuck.refresh_from_db()
    busy.refresh_from_db()
    assert stuck.status == Job.Status.FAILED and busy.status == Job.Status.RUNNING
    assert stuck.error == (
        "Interrupted: the worker stopped while the job was running. Start it again."
    )
    assert Notification.objects.get(user=accountant).level == "error"
    assert AuditEntry.objects.get(action="job_failed").object_id == str(stuck.pk)
    assert jobs.jobs_fail_stale(now=now) == 0

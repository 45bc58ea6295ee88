"""Bulk posting of journal entries (imports): validated all or nothing, then numbered, hashed
and written with set-based statements in one short transaction.

The rules are those of posting one entry, from the same code in :mod:`.services`: a line is
read by ``_parse_line`` (accounts, currencies, amounts, cost centres, projects, due date) and
an entry is checked by ``fx.balance_currencies`` and ``_posting_problems`` (balanced, postable
active accounts, partners on receivable/payable lines, open year and period, lock dates, active
journal). Numbers come from the same sequence rows (``_numbers_take``, bumped once per journal
and year for the whole batch), the chain from the same head (``_chain_head_locked``) and hash
(:func:`hashing.payload_of`), the balances from the same aggregation and upsert
(``BalanceMoves``).

Steps of :func:`entries_post_bulk`:

1. read the entries (a stream: an importer yields them as it parses) into compact objects,
   noting each line's problems;
2. skip the entries whose ``external_id`` the company already has (idempotency), then check
   the rest for posting: every problem of every entry is collected, keyed by the caller's
   position (``entries.3``, ``entries.3.lines.2``; an importer maps positions to file lines);
   any problem → ValidationError, nothing written;
3. in one transaction: lock the chain head, re-read what the checks depended on (accounts,
   periods, lock dates, journals, exchange settings, already imported ids) and check again if
   any of it changed meanwhile, take the numbers per (journal, fiscal year) in date order,
   numbering the entries as their lines go in, then hash the chain and sum the balances
   (on PostgreSQL while the server checks the lines' references to accounts, currencies, cost
   centres and projects), then insert the headers, already posted, with ids taken beforehand
   (``COPY`` on PostgreSQL; the triggers refuse lines inserted into a posted entry, and any
   later change; on PostgreSQL each posted entry's balance is checked when its header goes
   in; the other foreign keys are checked at the commit), add the monthly and daily
   balances, move the chain head and write one audit event for the batch;
4. on PostgreSQL, after the commit of a large batch, ``ANALYZE`` the entries and lines (the
   planner's statistics would otherwise describe the tables before the batch until
   autovacuum comes by).

Steps 1 and 2 run outside the transaction: progress shows, and on SQLite other writers are
blocked only while step 3 writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trastienda.audit.hashing import format_timestamp
from trastienda.audit.models import AuditAction
from trastienda.core import context
from trastienda.core.db import analyze_after_commit, bare_instance, gc_paused, rows_insert
from trastienda.core.models import Company
from trastienda.ledger import fx, hashing, services
from trastienda.ledger.models import (
    DayBalance,
    Journal,
    JournalEntry,
    JournalEntryLine,
    LedgerSettings,
)
from trastienda.ledger.services import DATE_CONFLICT, AccountInfo, PostingRules, Problem

ENTRY_KEYS = frozenset(
    {"journal", "date", "reference", "description", "lines", "external_id", "problems"}
)
AMOUNT_FIELDS = frozenset({"debit", "credit", "amount_currency"})
MAX_LENGTHS = {"external_id": 100, "reference": 100, "description": 300}
CHUNK = 2000
ARRAY_CHUNK = 50_000  # PostgreSQL: ids per array parameter
SQLITE_CACHE_KIB = -262144  # negative: KiB (256 MB)

Progress = Callable[[int, int, str], None]
Locate = Callable[[int, "int | None"], str]


def default_locate(index: int, line_no: int | None) -> str:
    """``entries.3`` for the fourth entry given, ``entries.3.lines.2`` for its second line."""
    return f"entries.{index}" if line_no is None else f"entries.{index}.lines.{line_no}"


@dataclass(frozen=True)
class BulkResult:
    posted: int
    skipped: int
    lines: int
    first_number: str = ""
    last_number: str = ""


class _Line:
    """A line of the batch: the attributes of :class:`JournalEntryLine` that posting reads,
    hashes and inserts (a slotted object: a million of them fit in memory)."""

    __slots__ = (
        "account_id",
        "amount_currency",
        "chain_seq",
        "company_id",
        "cost_centre_id",
        "credit",
        "currency_id",
        "date",
        "debit",
        "description",
        "due_date",
        "entry_id",
        "line_no",
        "partner",
        "project_id",
    )
    pk = None

    def __init__(self, company_id: int, line_no: int, values: Mapping[str, Any]) -> None:
        self.company_id = company_id
        self.entry_id: int | None = None
        self.line_no = line_no
        self.account_id = values["account_id"]
        self.description = values["description"]
        self.debit = values["debit"]
        self.credit = values["credit"]
        self.currency_id = values["currency_id"]
        self.amount_currency = values["amount_currency"]
        self.partner = values["partner"]
        self.due_date = values["due_date"]
        self.cost_centre_id = values["cost_centre_id"]
        self.project_id = values["project_id"]
        self.date: dt.date | None = None  # the entry's, set with chain_seq when written
        self.chain_seq: int | None = None


class _Entry:
    """An entry of the batch: what was given, what was found wrong, and (once written) the
    header fields that :func:`hashing.payload_of` hashes."""

    __slots__ = (
        "broken",
        "chain_seq",
        "company_id",
        "date",
        "description",
        "external_id",
        "fiscal_year_id",
        "hash",
        "hash_version",
        "id",
        "index",
        "journal",
        "journal_id",
        "line_count",
        "lines",
        "number",
        "parsed",
        "posted_at",
        "posted_by",
        "prev_hash",
        "problems",
        "reference",
        "sequence_number",
        "skipped",
        "state",
        "year",
    )
    reversal_of_id = None
    # set when written (_number_and_hash)
    state: str
    fiscal_year_id: int
    sequence_number: int
    posted_at: dt.datetime
    posted_by: str
    prev_hash: str
    hash: str
    hash_version: int

    def __init__(self, index: int, company_id: int) -> None:
        self.index = index
        self.company_id = company_id
        self.external_id = ""
        self.journal: Journal | None = None
        self.journal_id: int | None = None
        self.date: dt.date | None = None
        self.reference = ""
        self.description = ""
        self.parsed: list[_Line] = []  # the lines as given, read
        self.lines: list[Any] = []  # the lines to post (with any exchange difference line)
        self.line_count = 0
        self.problems: list[Problem] = []  # found reading it (caller's and ours)
        self.broken = False  # a line could not be read: the entry-wide checks are skipped
        self.skipped = False
        self.year: services.FiscalYearRule | None = None
        self.id: int | None = None
        self.number: str | None = None
        self.chain_seq: int | None = None


@dataclass
class _State:
    """What the checks of a batch depend on, as read at one moment."""

    rules: PostingRules
    accounts: dict[int, AccountInfo]
    journals: dict[int, tuple[str, str, bool]]  # id -> code, number format, active
    exchange_accounts: tuple[int | None, int | None]
    existing: frozenset[str]  # external ids of the batch that the company already has

    @classmethod
    def load(cls, company: Company, entries: list[_Entry]) -> _State:
        account_ids = sorted({x.account_id for e in entries for x in e.parsed})
        accounts: dict[int, AccountInfo] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(account_ids), CHUNK):
                chunk = account_ids[start : start + CHUNK]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"{services.ACCOUNT_INFO_SQL} WHERE id IN ({marks})",
                    chunk,
                )
                for row in cursor.fetchall():
                    info = services._account_info(row)
                    accounts[info.id] = info
        journals = {
            j.pk: (j.code, j.number_format, j.active) for j in Journal.objects.for_company(company)
        }
        settings = (
            LedgerSettings.objects.for_company(company)
            .values_list("exchange_gain_account_id", "exchange_loss_account_id")
            .first()
        )
        return cls(
            rules=PostingRules.for_company(company),
            accounts=accounts,
            journals=journals,
            exchange_accounts=settings or (None, None),
            existing=_existing_ids(company, [e.external_id for e in entries if e.external_id]),
        )

    def same_as(self, other: _State) -> bool:
        return (
            self.rules.key() == other.rules.key()
            and self.accounts == other.accounts
            and self.journals == other.journals
            and self.exchange_accounts == other.exchange_accounts
            and self.existing == other.existing
        )


def _existing_ids(company: Company, external_ids: list[str]) -> frozenset[str]:
    """Which of ``external_ids`` the company has. ``NOT (external_id = '')``, the partial
    unique index's own condition, lets SQLite use that index; without it each chunk of ids
    scanned the company's entries. PostgreSQL takes the ids as one array parameter per
    50,000 (``= ANY(%s)``: planned once, one index scan over the sorted keys) rather than
    2,000 placeholders per statement (planning those cost more than the lookups)."""
    found: set[str] = set()
    ids = sorted(set(external_ids))
    head = (
        "SELECT external_id FROM ledger_journalentry"
        " WHERE company_id = %s AND NOT (external_id = '') AND external_id "
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for start in range(0, len(ids), ARRAY_CHUNK):
                cursor.execute(head + "= ANY(%s)", [company.pk, ids[start : start + ARRAY_CHUNK]])
                found.update(row[0] for row in cursor.fetchall())
            return frozenset(found)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"{head}IN ({marks})", [company.pk, *chunk])
            found.update(row[0] for row in cursor.fetchall())
    return frozenset(found)


def _text(value: Any) -> str:
    if type(value) is str:
        return value.strip()
    return "" if value is None else str(value).strip()


def _read(
    company: Company,
    raws: Iterable[Mapping[str, Any]],
    progress: Progress | None,
    total: int,
) -> list[_Entry]:
    """Step 1: the entries as compact objects, with what is wrong in each of their lines."""
    lookups = services._Lookups.for_company(company)
    journals = {j.code: j for j in Journal.objects.for_company(company)}
    by_id = {j.pk: j for j in journals.values()}
    entries: list[_Entry] = []
    first_seen: dict[str, int] = {}
    company_id = company.pk
    parse_line = services._parse_line
    for index, raw in enumerate(raws):
        entry = _Entry(index, company_id)
        problems = entry.problems
        given = raw.get("problems") or ()
        reported: set[tuple[int | None, str]] = set()
        if given:
            problems.extend(given)
            reported = {(line_no, field) for line_no, field, _message in given}
        if not raw.keys() <= ENTRY_KEYS:
            unknown = ", ".join(sorted(raw.keys() - ENTRY_KEYS))
            problems.append((None, "entry", _("Unknown field %(name)s.") % {"name": unknown}))
        entry.external_id = _text(raw.get("external_id"))
        entry.reference = _text(raw.get("reference"))
        entry.description = _text(raw.get("description"))
        for name, limit in MAX_LENGTHS.items():
            if len(getattr(entry, name)) > limit and (None, name) not in reported:
                message = _("At most %(limit)d characters.") % {"limit": limit}
                problems.append((None, name, message))
        if entry.external_id:
            if entry.external_id in first_seen:
                problems.append(
                    (
                        None,
                        "external_id",
                        _("External id %(id)s repeats another entry of the batch.")
                        % {"id": entry.external_id},
                    )
                )
            else:
                first_seen[entry.external_id] = index
        journal = raw.get("journal")
        if isinstance(journal, Journal):
            entry.journal = by_id.get(journal.pk) if journal.company_id == company.pk else None
        else:
            entry.journal = journals.get(_text(journal).upper())
        if entry.journal is None and (None, "journal") not in reported:
            problems.append(
                (None, "journal", _("Unknown journal %(code)s.") % {"code": journal or "-"})
            )
        entry.journal_id = entry.journal.pk if entry.journal else None
        date = raw.get("date")
        if isinstance(date, str):
            try:
                date = dt.date.fromisoformat(date.strip())
            except ValueError:
                date = None
        if isinstance(date, dt.datetime) or not isinstance(date, dt.date):
            date = None
            if (None, "date") not in reported:
                problems.append((None, "date", _("Enter a date (YYYY-MM-DD).")))
        entry.date = date
        lines = list(raw.get("lines") or ())
        entry.line_count = len(lines)
        for n, raw_line in enumerate(lines, start=1):
            values, line_problems = parse_line(raw_line, lookups)
            if values is None:
                entry.broken = True
                amounts_reported = any((n, f) in reported for f in AMOUNT_FIELDS)
                problems.extend(
                    (n, field, message)
                    for field, message in line_problems
                    if (n, field) not in reported
                    and not (amounts_reported and field in AMOUNT_FIELDS)
                )
            else:
                entry.parsed.append(_Line(company_id, n, values))
        if any(line_no is not None for line_no, _f, _m in given):
            entry.broken = True
        entries.append(entry)
        if progress is not None and total and (index + 1) % 1000 == 0:
            progress(index + 1, total, _("Reading entries"))
    return entries


Found = tuple[int, Problem, str]
"""(entry index, problem, code): ``conflict`` for a date the state of the books forbids."""


def _check(
    company: Company,
    entries: list[_Entry],
    state: _State,
    allow_before_lock: bool,
    progress: Progress | None,
) -> list[Found]:
    """Step 2: skip what is already imported; every problem of the rest, by entry index."""
    found: list[Found] = []
    base = company.base_currency
    total = len(entries)
    if progress is not None:
        progress(0, total, _("Checking entries"))
    for done, entry in enumerate(entries, start=1):
        entry.skipped = bool(entry.external_id) and entry.external_id in state.existing
        if entry.skipped:
            continue
        problems = list(entry.problems)
        journal = state.journals.get(entry.journal_id or 0)
        lines: list[Any] = list(entry.parsed)
        if (
            not entry.broken
            and entry.journal is not None
            and entry.date is not None
            and any(line.currency_id != base for line in lines)  # else nothing to balance
        ):
            probe = bare_instance(
                JournalEntry,
                {
                    "company_id": company.pk,
                    "journal_id": entry.journal_id,
                    "date": entry.date,
                    "reference": entry.reference,
                    "description": entry.description,
                    "external_id": entry.external_id,
                },
            )
            probe._state.fields_cache["company"] = company
            lines, fx_errors = fx.balance_currencies(probe, cast(list[JournalEntryLine], lines))
            for key, messages in fx_errors.items():
                line_no = int(key.split(".")[1]) if key.startswith("lines.") else None
                field = "lines" if line_no is not None else key
                problems.extend((line_no, field, str(m)) for m in messages)
        more, entry.year = services._posting_problems(
            state.rules,
            date=entry.date,
            journal_active=journal[2] if journal else True,
            lines=lines,
            accounts=state.accounts,
            base_currency=base,
            allow_before_lock=allow_before_lock,
        )
        if entry.broken:  # the balance of an entry with unreadable lines says nothing
            more = [p for p in more if not (p[0] is None and p[1] == "lines")]
        entry.lines = lines
        found.extend((entry.index, p, "invalid") for p in problems)
        found.extend(
            (entry.index, p, DATE_CONFLICT if p[0] is None and p[1] == "date" else "invalid")
            for p in more
        )
        if progress is not None and (done % 1000 == 0 or done == total):
            progress(done, total, _("Checking entries"))
    return found


def problems_as_errors(
    problems: Iterable[Found], locate: Locate = default_locate
) -> ValidationError:
    """The problems as one ValidationError keyed by position: ``{"entries.3.lines.2":
    ["account: Unknown account 9999."]}`` (or the caller's keys, e.g. ``line 17``).

    A message about a date that the state of the books forbids (no open fiscal year or
    period, lock date) has the code ``conflict`` (:func:`conflicts_only`: an API answers
    409 when every problem is one); the others ``invalid``.
    """
    errors: dict[str, list[ValidationError]] = {}
    for index, (line_no, field, message), code in problems:
        text = message if field == "entry" else f"{field}: {message}"
        errors.setdefault(locate(index, line_no), []).append(ValidationError(text, code=code))
    return ValidationError(cast(Any, errors))


def conflicts_only(error: ValidationError) -> bool:
    """Whether every message of ``error`` is a conflict with the state of the books."""
    if not hasattr(error, "error_dict"):
        return False
    codes = [e.code for errors in error.error_dict.values() for e in errors]
    return bool(codes) and all(code == DATE_CONFLICT for code in codes)


@dataclass
class BulkPlan:
    """The batch read and checked (steps 1 and 2): post it with :func:`plan_post`."""

    company: Company
    entries: list[_Entry]
    state: _State
    allow_before_lock: bool
    problems: list[Found]

    @property
    def to_post(self) -> list[_Entry]:
        return [e for e in self.entries if not e.skipped]


def plan_entries(
    *,
    company: Company,
    entries: Iterable[Mapping[str, Any]],
    progress: Progress | None = None,
    total: int = 0,
    allow_before_lock: bool = False,
) -> BulkPlan:
    """Steps 1 and 2 of :func:`entries_post_bulk`: read and check, write nothing.

    ``total`` (how many entries, if known) is only for ``progress``. An entry mapping may
    carry ``problems``: ``(line number or None, field, message)`` the caller found reading
    it (an unreadable date or amount in a file); they are reported with the others, the checks
    of the same field are not repeated, and the entry-wide checks are skipped when a line
    could not be read.
    """
    with gc_paused():  # a million lines read into objects that all stay alive
        read = _read(company, entries, progress, total)
        state = _State.load(company, read)
        problems = _check(company, read, state, allow_before_lock, progress)
    return BulkPlan(company, read, state, allow_before_lock, problems)


def entries_post_bulk(
    *,
    company: Company,
    entries: Iterable[Mapping[str, Any]],
    progress: Progress | None = None,
    allow_before_lock: bool = False,
    locate: Locate = default_locate,
    audit_extra: Mapping[str, Any] | None = None,
    total: int = 0,
) -> BulkResult:
    """Post many entries at once, all or nothing.

    ``entries``: mappings like :func:`services.entry_create_draft`'s arguments (``journal`` as
    a Journal or its code, ``date``, ``reference``, ``description``, ``lines`` as the dicts
    it takes) plus ``external_id``: an entry whose external id the company already has is
    skipped (importing twice posts once); the same id twice in the batch is an error.
    ``allow_before_lock``: the caller holds ``ledger.post_before_lock``. ``locate`` turns a
    position (entry index from 0, line number from 1 or None) into an error key.
    ``audit_extra`` is added to the batch's audit event (an import puts its file there).
    Raises ValidationError listing every problem; writes nothing then.
    """
    with gc_paused():  # once for both steps: no collection walking the batch between them
        plan = plan_entries(
            company=company,
            entries=entries,
            progress=progress,
            total=total,
            allow_before_lock=allow_before_lock,
        )
        if plan.problems:
            raise problems_as_errors(plan.problems, locate)
        return plan_post(plan, progress=progress, locate=locate, audit_extra=audit_extra)


def plan_post(
    plan: BulkPlan,
    *,
    progress: Progress | None = None,
    locate: Locate = default_locate,
    audit_extra: Mapping[str, Any] | None = None,
) -> BulkResult:
    """Step 3: write a checked batch in one transaction (see the module docstring)."""
    company = plan.company
    if progress is not None:  # before the transaction, or nobody would see it until the end
        progress(0, len(plan.to_post), _("Writing entries"))
    # The collector stays paused through the write too: taking half a million ids, building
    # the rows and their hashes would set off full collections walking the whole batch
    # (measured at a million lines: the write 44 s with them, 31 s without).
    with gc_paused(), _page_cache(), transaction.atomic():
        head_seq, head_hash = services._chain_head_locked(company)
        state = _State.load(company, plan.entries)
        if not state.same_as(plan.state):  # changed since checked: check again, locked
            plan.state = state
            plan.problems = _check(company, plan.entries, state, plan.allow_before_lock, None)
            if plan.problems:
                raise problems_as_errors(plan.problems, locate)
        # By date, then as given: the batch is in the caller's order and the sort is stable.
        todo = sorted(plan.to_post, key=attrgetter("date"))
        skipped = len(plan.entries) - len(todo)
        if not todo:
            return BulkResult(0, skipped, 0)
        total = len(todo)
        _write(company, todo, _number(company, todo, plan.state, head_seq), head_hash)
        last = todo[-1]
        services._chain_head_move(company, cast(int, last.chain_seq), last.hash)
        lines = sum(len(e.lines) for e in todo)
        # _number gave the chain positions in this order
        first_number, last_number = todo[0].number or "", todo[-1].number or ""
        from trastienda.audit.services import audit_log

        audit_log(
            action=AuditAction.OTHER,
            company=company,
            object_type="ledger.journalentry",
            object_repr=ngettext(
                "Bulk posting of %(count)d entry", "Bulk posting of %(count)d entries", total
            )
            % {"count": total},
            extra={
                "event": "entries_posted_bulk",
                "entries": total,
                "lines": lines,
                "skipped": skipped,
                "first_number": first_number,
                "last_number": last_number,
                "first_chain_seq": head_seq + 1,
                "last_chain_seq": head_seq + total,
                **(audit_extra or {}),
                **({"source": context.current().source} if context.current().source else {}),
            },
        )
        analyze_after_commit(lines, JournalEntry, JournalEntryLine, DayBalance)
    if progress is not None:
        progress(total, total, _("Written"))
    return BulkResult(total, skipped, lines, first_number, last_number)


@contextlib.contextmanager
def _page_cache() -> Iterator[None]:
    """SQLite: a page cache of up to 256 MB on this connection while the batch is written
    (the default 2 MB makes every index insertion of a million lines read pages back from the
    OS). Memory only: durability is untouched. PostgreSQL: nothing to do."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


def _number(company: Company, todo: list[_Entry], state: _State, head_seq: int) -> Iterator[_Entry]:
    """Numbers per (journal, fiscal year) and chain positions, in date order: the numbers
    are taken now (their sequence rows), and each entry gets its own as it is yielded."""
    counts = Counter(
        (cast(int, e.journal_id), cast(services.FiscalYearRule, e.year).id) for e in todo
    )
    following = {
        key: services._numbers_take(company, key[0], key[1], count)
        for key, count in sorted(counts.items())
    }
    return _numbered(todo, state, following, head_seq)


def _numbered(
    todo: list[_Entry], state: _State, following: dict[tuple[int, int], int], head_seq: int
) -> Iterator[_Entry]:
    user = context.current().user
    posted_by = user.get_username() if getattr(user, "is_authenticated", False) else ""
    now = timezone.now()
    seq = head_seq
    for entry in todo:
        year = cast(services.FiscalYearRule, entry.year)
        code, number_format, _active = state.journals[cast(int, entry.journal_id)]
        key = (cast(int, entry.journal_id), year.id)
        number = following[key]
        following[key] = number + 1
        seq += 1
        entry.state = JournalEntry.State.POSTED
        entry.fiscal_year_id = year.id
        entry.sequence_number = number
        entry.number = number_format.format(code=code, year=year.name, number=number)
        entry.posted_at = now
        entry.posted_by = posted_by
        entry.chain_seq = seq
        entry.hash_version = hashing.CURRENT_VERSION
        yield entry


def _hash_while_references_checked(
    todo: list[_Entry], head_hash: str, moves: services.BalanceMoves
) -> None:
    """Hash the chain and sum the balances of the batch, whose lines are in: on PostgreSQL in
    a thread, while the database checks the lines' deferred foreign keys to the accounts,
    currencies, cost centres and projects (:func:`_line_references_check`).

    Those checks would otherwise run at the commit with Python idle, and the hashing with
    the database waiting for the headers it needs: now each does its part at the same time
    (at a million lines 8-10 s each). The thread runs pure Python on the batch's objects
    (no database, no other shared state); the driver releases the GIL while it waits for the
    server, so the two never contend for it. An error in either is raised here, once the
    thread has ended. SQLite checks nothing before the commit: the hashing runs here."""

    def work() -> None:
        for entry in _hash_chain(todo, head_hash):
            moves.add(cast(dt.date, entry.date), entry.lines)

    if connection.vendor != "postgresql":
        work()
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-hash") as pool:
        hashed = pool.submit(work)
        _line_references_check()  # if it raises, leaving the block waits for the thread
        hashed.result()


def _line_references_check() -> None:
    """PostgreSQL: check now, rather than at the commit, the lines' deferred foreign keys to
    other tables than the entries (whose headers are not in yet), then defer them again.
    ``SET CONSTRAINTS ... IMMEDIATE`` runs the checks queued so far; a missing account
    raises the same integrity error as at the commit."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass"
            " AND contype = 'f' AND condeferred AND confrelid <> %s::regclass ORDER BY conname",
            [JournalEntryLine._meta.db_table, JournalEntry._meta.db_table],
        )
        names = ", ".join(connection.ops.quote_name(row[0]) for row in cursor.fetchall())
        if names:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


def _hash_chain(todo: list[_Entry], head_hash: str) -> Iterator[_Entry]:
    """Each entry in chain order once its ``prev_hash`` and ``hash`` are set (pure: no
    database)."""
    stamp = format_timestamp(todo[0].posted_at)
    dates: dict[dt.date, str] = {}
    prev = head_hash
    encode = _CANONICAL.encode
    sha256 = hashlib.sha256
    for position, entry in enumerate(todo):
        entry.prev_hash = prev
        payload = _payload(entry, stamp, dates)
        entry.hash = sha256((prev + encode(payload)).encode("utf-8")).hexdigest()
        if position == 0 and (
            hashing.CURRENT_VERSION != 1
            or payload != hashing.payload_of(entry, entry.lines)
            or entry.hash != hashing.compute_hash(prev, payload)
        ):
            raise RuntimeError("bulk no longer hashes as ledger.hashing does: update it")
        prev = entry.hash
        yield entry


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""The audit app's ``canonical_json`` as one reusable encoder (``json.dumps`` with options
builds a new one per call): hashing version 1 is ``sha256(prev_hash + canonical_json(payload))``
over exactly the keys :func:`_payload` gives."""


def _payload(entry: _Entry, posted_at: str, dates: dict[dt.date, str]) -> dict[str, Any]:
    """:func:`hashing.payload_of` of an entry of the batch, built directly from the known
    types of its fields (five times faster; the first entry of every batch is compared with
    ``payload_of`` itself, and so is every entry in the tests)."""
    date = cast(dt.date, entry.date)
    day = dates.get(date)
    if day is None:
        day = dates[date] = date.isoformat()
    return {
        "company_id": entry.company_id,
        "chain_seq": entry.chain_seq,
        "state": entry.state,
        "number": entry.number,
        "journal_id": entry.journal_id,
        "fiscal_year_id": entry.fiscal_year_id,
        "sequence_number": entry.sequence_number,
        "date": day,
        "reference": entry.reference,
        "description": entry.description,
        "reversal_of_id": None,
        "posted_at": posted_at,
        "posted_by": entry.posted_by,
        "lines": [
            {
                "line_no": line.line_no,
                "account_id": line.account_id,
                "description": line.description,
                "debit": line.debit,
                "credit": line.credit,
                "currency_id": line.currency_id,
                "amount_currency": line.amount_currency,
                "partner": line.partner,
                "due_date": None if line.due_date is None else line.due_date.isoformat(),
                "cost_centre_id": line.cost_centre_id,
                "project_id": line.project_id,
            }
            for line in sorted(entry.lines, key=_line_no)
        ],
    }


def _line_no(line: Any) -> int:
    return int(line.line_no)


ENTRY_COLUMNS = (
    *("id", "company_id", "journal_id", "date", "reference", "description", "state"),
    *("number", "external_id", "fiscal_year_id", "sequence_number", "posted_at", "posted_by"),
    *("chain_seq", "prev_hash", "hash", "hash_version", "created_at"),
)


def _write(
    company: Company, todo: list[_Entry], numbered: Iterator[_Entry], head_hash: str
) -> None:
    """Insert the lines and then their headers, posted and hashed, and add the balances.
    ``numbered``: :func:`_number`'s entries, numbered as they come.

    The rows are made as they are sent: the entries are numbered while their lines go in, so
    that on PostgreSQL the server inserts the rows already received (indexes, triggers) while
    Python makes the next ones. The chain is hashed and the balances summed once every line
    is in (the hashes need the numbers), in a thread while the server checks the lines'
    references (:func:`_hash_while_references_checked`). Hashing in a thread while the rows
    go in was tried before: there both threads need the GIL, and its hand-overs cost what
    the overlap saved; here the main thread only waits for the server."""
    moves = services.BalanceMoves()
    _insert(company, todo, numbered, head_hash, moves)
    moves.apply(company)


def _entry_ids(count: int) -> list[int]:
    """``count`` new journal entry ids, taken before any row goes in. PostgreSQL: from the
    table's identity sequence (safe beside other writers; the ids need not be consecutive).
    They are read back as their range when they are consecutive (the usual case: nobody else
    took one meanwhile), otherwise a second set is taken and read row by row (ids the first
    one wasted are gaps in ids, harmless: the gap-free numbers are the entries' numbers).
    SQLite: after the largest id ever given (``sqlite_sequence``, the table being
    AUTOINCREMENT); this transaction holds the database's only write lock since it locked
    the chain head, so nobody else takes ids meanwhile."""
    table = JournalEntry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            taken = "SELECT nextval(%s::regclass) AS id FROM generate_series(1, %s)"
            params = [cursor.fetchone()[0], count]
            cursor.execute(f"SELECT MIN(id), MAX(id) FROM ({taken}) t", params)  # noqa: S608
            low, high = cursor.fetchone()
            if high - low + 1 == count:
                return list(range(low, high + 1))
            cursor.execute(taken, params)
            return [int(row[0]) for row in cursor.fetchall()]
        cursor.execute(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence"
            " WHERE name = 'ledger_journalentry'), 0),"
            " COALESCE((SELECT MAX(id) FROM ledger_journalentry), 0))"
        )
        start = int(cursor.fetchone()[0]) + 1
    return list(range(start, start + count))


def _insert(
    company: Company,
    todo: list[_Entry],
    numbered: Iterator[_Entry],
    head_hash: str,
    moves: services.BalanceMoves,
) -> None:
    """The lines, then their headers already posted, with ids taken beforehand: the triggers
    refuse a line inserted into a posted entry; a line's entry is checked (foreign key) at
    the commit, and on PostgreSQL a posted entry's balance when its header goes in. Writing
    the headers posted at once spares updating each of them after its lines (on PostgreSQL
    that update cost a new row version, every index again and a second round of foreign-key
    checks: a third of the writing time). ``moves`` gets the lines as their headers are written."""
    ids = _entry_ids(len(todo))

    def lines() -> Iterator[Any]:
        for entry, entry_id in zip(numbered, ids, strict=True):
            entry.id = entry_id
            for line in entry.lines:
                line.entry_id = entry_id
                line.date = entry.date
                line.chain_seq = entry.chain_seq
            yield from entry.lines

    services._lines_insert(lines())
    # Only after every line was sent: the hashes need the numbers lines() gave.
    _hash_while_references_checked(todo, head_hash, moves)

    ops = connection.ops
    created = ops.adapt_datetimefield_value(timezone.now())
    posted_at = ops.adapt_datetimefield_value(todo[0].posted_at)
    dates: dict[dt.date, Any] = {}

    def day(value: dt.date) -> Any:
        if value not in dates:
            dates[value] = ops.adapt_datefield_value(value)
        return dates[value]

    posted = JournalEntry.State.POSTED.value
    rows_insert(
        JournalEntry._meta.db_table,
        ENTRY_COLUMNS,
        (
            (
                e.id,
                company.pk,
                e.journal_id,
                day(cast(dt.date, e.date)),
                e.reference,
                e.description,
                posted,
                e.number,
                e.external_id,
                e.fiscal_year_id,
                e.sequence_number,
                posted_at,
                e.posted_by,
                e.chain_seq,
                e.prev_hash,
                e.hash,
                e.hash_version,
                created,
            )
            for e in todo
        ),
    )

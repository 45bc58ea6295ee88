"""The reconciliation screen: the open lines of a bank account on the left, the chosen line's
proposals and a manual search of open invoices and ledger items on the right. Driven by the
keyboard (``static/banking/reconcile.js``): ↑/↓ or j/k move between lines, 1-9 accept a
proposal, ``/`` searches, ``e`` opens the new-entry form, ``u`` undoes the last reconciliation,
``a`` runs the automatic reconciliation. Every action is a POST to a service and comes back
to the screen on the next open line."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trastienda.banking import reconciliation as rec
from trastienda.banking.models import (
    BankAccount,
    Reconciliation,
    ReconciliationRule,
    StatementLine,
)
from trastienda.banking.statement_views import StatementLineViews
from trastienda.billing.models import Direction, Invoice
from trastienda.core.generic import CompanyView, company_url, deny
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm
from trastienda.ledger.models import Account

VIEW_PERM = "banking.view_statementline"
ACT_PERM = "banking.add_reconciliation"
UNDO_PERM = "banking.change_reconciliation"
LINES_SHOWN = 200
SEARCH_LIMIT = 30


def _decimal(value: Any) -> Decimal | None:
    text = str(value or "").strip().replace(" ", "")
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [
            f"{key}: {message}" if key not in ("__all__", "amount") else str(message)
            for key, errors in exc.message_dict.items()
            for message in errors
        ]
    return list(exc.messages)


class ReconcileView(CompanyView):
    """GET: the screen. ``?account=<pk>`` chooses the bank account, ``?line=<pk>`` the line,
    ``?q=`` searches open invoices and ledger items for the manual match."""

    template_name = "banking/reconcile.html"
    required_perm = VIEW_PERM

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        accounts = list(BankAccount.objects.for_company(company).filter(active=True))
        line = None
        line_pk = request.GET.get("line")
        if line_pk and line_pk.isdigit():
            line = (
                StatementLine.objects.for_company(company)
                .select_related("bank_account", "statement")
                .filter(pk=int(line_pk))
                .first()
            )
            if line is None:
                raise Http404
        account = line.bank_account if line is not None else None
        account_pk = request.GET.get("account")
        if account is None and account_pk and account_pk.isdigit():
            account = next((a for a in accounts if a.pk == int(account_pk)), None)
        if account is None and accounts:
            account = accounts[0]
        lines: list[StatementLine] = []
        open_count = 0
        if account is not None:
            queryset = rec.open_lines(company, account)
            open_count = queryset.count()
            lines = list(queryset[:LINES_SHOWN])
            if line is None and lines:
                line = lines[0]
        ctx: dict[str, Any] = {
            "title": _("Reconcile"),
            "breadcrumbs": [
                {"label": _("Banking"), "url": None},
                {"label": _("Reconcile"), "url": None},
            ],
            "accounts": accounts,
            "account": account,
            "lines": lines,
            "open_count": open_count,
            "line": line,
            "can_act": has_perm(request, ACT_PERM),
            "can_undo": has_perm(request, UNDO_PERM),
            "query": request.GET.get("q", ""),
        }
        if line is not None:
            ctx.update(self.line_context(line, request.GET.get("q", "")))
        return render(request, self.template_name, ctx)

    def line_context(self, line: StatementLine, query: str) -> dict[str, Any]:
        company = line.company
        found = rec.suggestions(line) if line.open_amount else []
        proposals = []
        for index, suggestion in enumerate(found[:9], start=1):
            proposals.append(
                {
                    "index": index,
                    "suggestion": suggestion,
                    "targets": ",".join(f"{t.kind}:{t.pk}" for t in suggestion.targets),
                    "total": Money(sum(t.amount for t in suggestion.targets), line.currency),
                    "difference": Money(suggestion.difference, line.currency),
                    "rule": suggestion.rule,
                }
            )
        search: list[dict[str, Any]] = []
        if query.strip():
            search = self.search(line, query.strip())
        history = list(
            Reconciliation.objects.filter(line=line)
            .select_related("payment", "entry", "created_by")
            .order_by("-created_at", "-pk")
        )
        return {
            "proposals": proposals,
            "search_results": search,
            "history": history,
            "line_amount": Money(line.amount, line.currency),
            "line_open": Money(line.open_amount, line.currency),
            "entry_accounts": Account.objects.for_company(company)
            .filter(postable=True, active=True)
            .order_by("code")
            .only("pk", "code", "name_es", "name_it", "name_en")[:2000],
        }

    def search(self, line: StatementLine, query: str) -> list[dict[str, Any]]:
        """Open invoices (number, supplier reference, partner) and open ledger items
        (reference, description) matching the text, or the amount when it is a number."""
        company = line.company
        account = line.bank_account
        results: list[dict[str, Any]] = []
        amount = _decimal(query)
        invoices = (
            Invoice.objects.for_company(company)
            .filter(state=Invoice.State.ISSUED, currency=account.currency)
            .exclude(open_amount=0)
            .exclude(kind=Invoice.Kind.CREDIT_NOTE)
            .select_related("partner")
        )
        if amount is not None:
            try:
                minor = Money.from_decimal(abs(amount), account.currency).minor
            except ValueError:
                minor = -1
            invoices = invoices.filter(Q(open_amount=minor) | Q(total_amount=minor))
        else:
            invoices = invoices.filter(
                Q(number__icontains=query)
                | Q(supplier_reference__icontains=query)
                | Q(partner__legal_name__icontains=query)
                | Q(partner__code__iexact=query)
            )
        for invoice in invoices.order_by("due_date", "pk")[:SEARCH_LIMIT]:
            signed = (
                invoice.open_amount if invoice.direction == Direction.SALE else -invoice.open_amount
            )
            results.append(
                {
                    "key": f"invoice:{invoice.pk}",
                    "is_invoice": True,
                    "kind": _("Invoice") if invoice.direction == Direction.SALE else _("Bill"),
                    "label": invoice.number or invoice.supplier_reference,
                    "detail": invoice.partner.legal_name,
                    "date": invoice.due_date or invoice.date,
                    "amount": Money(signed, invoice.currency),
                    "open": Money(invoice.open_amount, invoice.currency).to_decimal(),
                    "url": invoice.get_absolute_url(),
                }
            )
        items, targets = rec.open_targets(account)
        wanted = query.casefold()
        for item in items:
            target = targets[str(item.key)]
            if target.kind != "ledger":
                continue
            if amount is not None:
                try:
                    hit = (
                        abs(target.amount)
                        == Money.from_decimal(abs(amount), account.currency).minor
                    )
                except ValueError:
                    hit = False
            else:
                hit = wanted in f"{target.label} {target.detail}".casefold()
            if hit:
                results.append(
                    {
                        "key": f"ledger:{target.pk}",
                        "is_invoice": False,
                        "kind": _("Ledger"),
                        "label": target.label,
                        "detail": target.detail,
                        "date": target.date,
                        "amount": Money(target.amount, account.currency),
                        "open": Money(abs(target.amount), account.currency).to_decimal(),
                        "url": "",
                    }
                )
            if len(results) >= 2 * SEARCH_LIMIT:
                break
        return results


class _LineAction(CompanyView):
    required_perm = ACT_PERM
    views = StatementLineViews

    def line(self, pk: int) -> StatementLine:
        company = self.request.company  # type: ignore[attr-defined]
        return get_object_or_404(StatementLine.objects.for_company(company), pk=pk)

    def back(self, line: StatementLine, *, same: bool = False) -> HttpResponseRedirect:
        """To the same line if it is still open (or asked), else to the next open one."""
        base = company_url(self.request, "banking:reconcile")
        line.refresh_from_db()
        if same or line.open_amount:
            return HttpResponseRedirect(f"{base}?line={line.pk}")
        following = (
            rec.open_lines(line.company, line.bank_account)
            .filter(
                Q(booking_date__gt=line.booking_date)
                | Q(booking_date=line.booking_date, pk__gt=line.pk)
            )
            .first()
            or rec.open_lines(line.company, line.bank_account).first()
        )
        if following is None:
            return HttpResponseRedirect(f"{base}?account={line.bank_account_id}")
        return HttpResponseRedirect(f"{base}?line={following.pk}")

    def refuse(self, line: StatementLine, exc: ValidationError) -> HttpResponseRedirect:
        for text in _errors(exc):
            messages.error(self.request, text)
        return self.back(line, same=True)


class AcceptView(_LineAction):
    """Accept a proposal: ``targets`` ("invoice:12,invoice:13", "ledger:7", "batch:3") or
    ``rule`` (pk); ``write_off`` books a small difference off."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        line = self.line(pk)
        rule_pk = request.POST.get("rule")
        write_off = bool(request.POST.get("write_off"))
        score = request.POST.get("score")
        reason = request.POST.get("reason", "")
        try:
            if rule_pk:
                rule = get_object_or_404(
                    ReconciliationRule.objects.for_company(line.company), pk=int(rule_pk)
                )
                rec.reconcile_entry(line=line, account=rule.account, rule=rule, user=request.user)
            else:
                self.accept_targets(line, request.POST.get("targets", ""), write_off, score, reason)
        except ValidationError as exc:
            return self.refuse(line, exc)
        messages.success(request, _("Line reconciled."))
        return self.back(line)

    def accept_targets(
        self, line: StatementLine, raw: str, write_off: bool, score: Any, reason: str
    ) -> None:
        keys = [part.strip() for part in raw.split(",") if part.strip()]
        if not keys:
            raise ValidationError(_("Choose what the line is reconciled with."))
        kinds = {key.partition(":")[0] for key in keys}
        pks = [int(key.partition(":")[2]) for key in keys if key.partition(":")[2].isdigit()]
        score_value = int(score) if str(score or "").isdigit() else None
        user = self.request.user
        if kinds == {"invoice"}:
            allocations: list[dict[str, Any]] = [{"invoice": pk, "amount": None} for pk in pks]
            if len(pks) == 1 and not write_off:
                invoice = Invoice.objects.for_company(line.company).filter(pk=pks[0]).first()
                if invoice is not None and invoice.open_amount > abs(line.open_amount):
                    # A partial payment: the line settles what it carries.
                    allocations = [
                        {
                            "invoice": pks[0],
                            "amount": Money(abs(line.open_amount), line.currency).to_decimal(),
                        }
                    ]
            rec.reconcile_invoices(
                line=line,
                allocations=allocations,
                write_off=write_off,
                user=user,
                score=score_value,
                reason=reason,
            )
        elif kinds == {"ledger"}:
            rec.reconcile_ledger(
                line=line, entry_lines=pks, user=user, score=score_value, reason=reason
            )
        elif kinds == {"batch"} and len(pks) == 1:
            rec.reconcile_batch(
                line=line, batch=pks[0], user=user, score=score_value, reason=reason
            )
        else:
            raise ValidationError(
                _("Reconcile invoices, ledger items or a batch, one kind at a time.")
            )


class ManualView(_LineAction):
    """The manual match: checked search results with the amount each takes (a split)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        line = self.line(pk)
        chosen = request.POST.getlist("pick")
        write_off = bool(request.POST.get("write_off"))
        invoices: list[dict[str, Any]] = []
        ledger: list[int] = []
        for key in chosen:
            kind, _sep, raw_pk = key.partition(":")
            if not raw_pk.isdigit():
                continue
            if kind == "invoice":
                amount = _decimal(request.POST.get(f"amount-{key}"))
                invoices.append({"invoice": int(raw_pk), "amount": amount})
            elif kind == "ledger":
                ledger.append(int(raw_pk))
        try:
            if invoices and ledger:
                raise ValidationError(_("Reconcile invoices or ledger items, one kind at a time."))
            if invoices:
                rec.reconcile_invoices(
                    line=line, allocations=invoices, write_off=write_off, user=request.user
                )
            elif ledger:
                rec.reconcile_ledger(line=line, entry_lines=ledger, user=request.user)
            else:
                raise ValidationError(_("Tick what the line is reconciled with."))
        except ValidationError as exc:
            return self.refuse(line, exc)
        messages.success(request, _("Line reconciled."))
        return self.back(line)


class EntryView(_LineAction):
    """Post a new entry for (part of) the line: bank fees, interest, a transfer..."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        line = self.line(pk)
        account = (request.POST.get("account") or "").strip()
        amount = request.POST.get("amount") or None
        try:
            if not account:
                raise ValidationError({"account": [_("Choose an account.")]})
            value = _decimal(amount) if amount else None
            if amount and value is None:
                raise ValidationError({"amount": [_("Enter an amount.")]})
            rec.reconcile_entry(
                line=line,
                account=account,
                amount=value,
                description=request.POST.get("description", ""),
                user=request.user,
            )
        except ValidationError as exc:
            return self.refuse(line, exc)
        messages.success(request, _("Entry posted and line reconciled."))
        return self.back(line)


class UndoView(_LineAction):
    """Undo one reconciliation of the line (``reconciliation``; default: its latest)."""

    required_perm = UNDO_PERM

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        line = self.line(pk)
        active = Reconciliation.objects.filter(line=line, state=Reconciliation.State.ACTIVE)
        raw = request.POST.get("reconciliation", "")
        found = (
            active.filter(pk=int(raw)).first() if raw.isdigit() else active.order_by("-pk").first()
        )
        if found is None:
            messages.error(request, _("Nothing to undo on this line."))
            return self.back(line, same=True)
        try:
            rec.reconciliation_undo(instance=found, user=request.user)
        except ValidationError as exc:
            return self.refuse(line, exc)
        messages.success(request, _("Reconciliation undone: what it posted was reversed."))
        return self.back(line, same=True)


class AutoView(CompanyView):
    required_perm = ACT_PERM

    def post(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        account = None
        raw = request.POST.get("account")
        if raw and raw.isdigit():
            account = BankAccount.objects.for_company(company).filter(pk=int(raw)).first()
        if not has_perm(request, ACT_PERM):
            raise deny(request, ACT_PERM)
        result = rec.auto_reconcile(company=company, bank_account=account, user=request.user)
        messages.success(
            request,
            ngettext(
                "%(applied)d of %(lines)d line reconciled automatically; the rest wait for review.",
                "%(applied)d of %(lines)d lines reconciled automatically; the rest wait for "
                "review.",
                result.lines,
            )
            % {"applied": result.applied + result.by_rule, "lines": result.lines},
        )
        for line_pk, problem in result.failed[:5]:
            messages.warning(request, f"#{line_pk}: {problem}")
        base = company_url(request, "banking:reconcile")
        return HttpResponseRedirect(f"{base}?account={account.pk}" if account else base)


urlpatterns = [
    path("reconcile/", ReconcileView.as_view(), name="reconcile"),
    path("reconcile/auto/", AutoView.as_view(), name="reconcile_auto"),
    path("reconcile/<int:pk>/accept/", AcceptView.as_view(), name="reconcile_accept"),
    path("reconcile/<int:pk>/manual/", ManualView.as_view(), name="reconcile_manual"),
    path("reconcile/<int:pk>/entry/", EntryView.as_view(), name="reconcile_entry"),
    path("reconcile/<int:pk>/undo/", UndoView.as_view(), name="reconcile_undo"),
]

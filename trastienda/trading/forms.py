"""Forms of trading. They parse; the services decide (:mod:`trastienda.trading.reference` for
reference data, :mod:`trastienda.trading.services` for trades) and the views show the
services' errors on the fields.

Trade forms keep every value as text, exactly as typed: quantities, prices and amounts are
decimal text that the trade services read exactly (never through a float), and the account,
trader, instrument and broker are the codes the services look up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.models import Company
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    Broker,
    Desk,
    Instrument,
    Trade,
    Trader,
    TradingAccount,
)
from trastienda.trading.reference import (
    ACCOUNT_FIELDS,
    BROKER_FIELDS,
    DESK_FIELDS,
    INSTRUMENT_FIELDS,
    TRADER_FIELDS,
)

IMPORT_MAX_BYTES = 10 * 1024 * 1024


class DeskForm(CompanyModelForm):
    class Meta:
        model = Desk
        fields = DESK_FIELDS


class TraderForm(CompanyModelForm):
    class Meta:
        model = Trader
        fields = TRADER_FIELDS
        help_texts = {"user": _("The person's login, if they use Trastienda.")}

    def set_company(self, company: Company) -> None:
        from django.contrib.auth import get_user_model

        self.fields["desk"].queryset = Desk.objects.for_company(company).order_by("code")  # type: ignore[attr-defined]
        self.fields["user"].queryset = (  # type: ignore[attr-defined]
            get_user_model()
            .objects.filter(memberships__company=company)
            .distinct()
            .order_by("username")
        )


class BrokerForm(CompanyModelForm):
    class Meta:
        model = Broker
        fields = BROKER_FIELDS


class TradingAccountForm(CompanyModelForm):
    class Meta:
        model = TradingAccount
        fields = ACCOUNT_FIELDS

    def set_company(self, company: Company) -> None:
        from trastienda.billing.models import Partner

        self.fields["desk"].queryset = Desk.objects.for_company(company).order_by("code")  # type: ignore[attr-defined]
        self.fields["partner"].queryset = Partner.objects.for_company(company)  # type: ignore[attr-defined]


class InstrumentForm(CompanyModelForm):
    """Every type's fields: bonds fill the maturity and coupon; futures the expiry; options
    the underlying, expiry, strike, call/put, multiplier and exercise style; FX forwards the
    counter currency. The service says which are missing."""

    class Meta:
        model = Instrument
        fields = INSTRUMENT_FIELDS
        help_texts = {
            "maturity": _("Bonds."),
            "coupon": _("Bonds."),
            "underlying": _("Options (and futures)."),
            "expiry": _("Futures and options."),
            "strike": _("Options."),
            "option_right": _("Options."),
            "exercise_style": _("Options."),
            "multiplier": _("Contract size of futures and options; 1 otherwise."),
            "counter_currency": _("FX forwards: the currency bought or sold against."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            from trastienda.trading.reference import markets

            codes = markets()
        except ImportError:  # the calendars are not installed yet: type the code
            codes = []
        if codes:
            current = getattr(self.instance, "market", "") or ""
            choices = [("", "---------")] + [(c, c) for c in codes]
            if current and current not in codes:
                choices.append((current, current))
            self.fields["market"] = forms.ChoiceField(
                label=_("market"),
                choices=choices,
                widget=forms.Select(attrs={"class": "form-select"}),
            )
        self.fields["currency"].widget.attrs.setdefault("maxlength", "3")

    def set_company(self, company: Company) -> None:
        underlying = Instrument.objects.for_company(company).order_by("code")
        if self.instance.pk:
            underlying = underlying.exclude(pk=self.instance.pk)
        self.fields["underlying"].queryset = underlying  # type: ignore[attr-defined]
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("currency", company.base_currency)

    def _post_clean(self) -> None:
        # The service checks everything (with the company set); the ModelForm's own model
        # validation would run before it and without the type's rules.
        from django.forms.models import construct_instance

        self.instance = construct_instance(self, self.instance, self._meta.fields)


# --- trades -------------------------------------------------------------------------------------


def decimal_text(value: int | None, places: int) -> str:
    """An integer of 10^-places units as plain decimal text without trailing zeros."""
    if value is None:
        return ""
    number = Decimal(int(value)).scaleb(-places)
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def trade_values(trade: Trade) -> dict[str, str]:
    """A trade version's values as the trade form shows them (text)."""
    from trastienda.core.money import Money

    return {
        "trade_id": trade.trade_id,
        "executed_at": timezone.localtime(trade.executed_at).strftime("%Y-%m-%dT%H:%M:%S"),
        "trade_date": trade.trade_date.isoformat(),
        "settlement_date": trade.settlement_date.isoformat(),
        "account": trade.account.code,
        "trader": trade.trader.code,
        "instrument": trade.instrument.code,
        "broker": trade.broker.code,
        "side": trade.side,
        "quantity": decimal_text(trade.quantity, QUANTITY_PLACES),
        "price": decimal_text(trade.price, PRICE_PLACES),
        "currency": trade.currency,
        "fees": str(Money(trade.fees, trade.currency).to_decimal()),
        "commission": str(Money(trade.commission, trade.currency).to_decimal()),
        "comment": trade.comment,
    }


def _codes(queryset: Any) -> list[tuple[str, str]]:
    return [("", "---------")] + [(obj.code, str(obj)) for obj in queryset]


class TradeForm(BootstrapMixin, forms.Form):
    """A trade as text; ``set_company`` offers the company's active reference data."""

    trade_id = forms.CharField(label=_("trade id"), max_length=60)
    executed_at = forms.CharField(
        label=_("executed"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        help_text=_("Date and time of the execution, in the company's time zone."),
    )
    trade_date = forms.CharField(
        label=_("trade date"),
        required=False,
        widget=forms.TextInput(attrs={"type": "date"}),
        help_text=_("Empty: the date of the execution."),
    )
    settlement_date = forms.CharField(
        label=_("settlement date"),
        required=False,
        widget=forms.TextInput(attrs={"type": "date"}),
        help_text=_("Empty: the market's settlement convention."),
    )
    account = forms.ChoiceField(label=_("account"))
    trader = forms.ChoiceField(label=_("trader"))
    instrument = forms.ChoiceField(label=_("instrument"))
    broker = forms.ChoiceField(label=_("broker"))
    side = forms.ChoiceField(label=_("side"), choices=Trade.Side.choices)
    quantity = forms.CharField(
        label=_("quantity"),
        max_length=40,
        help_text=_("Up to %(places)d decimals.") % {"places": QUANTITY_PLACES},
    )
    price = forms.CharField(
        label=_("price"),
        max_length=40,
        help_text=_("Up to %(places)d decimals.") % {"places": PRICE_PLACES},
    )
    fees = forms.CharField(label=_("fees"), max_length=40, required=False)
    commission = forms.CharField(label=_("commission"), max_length=40, required=False)
    comment = forms.CharField(label=_("comment"), max_length=300, required=False)

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        current = dict(self.initial)
        choices = {
            "account": TradingAccount.objects.for_company(company),
            "trader": Trader.objects.for_company(company),
            "instrument": Instrument.objects.for_company(company),
            "broker": Broker.objects.for_company(company),
        }
        for name, queryset in choices.items():
            options = _codes(queryset.filter(active=True).order_by("code"))
            chosen = current.get(name)
            if chosen and all(code != chosen for code, _label in options):
                options.append((chosen, chosen))  # keep an inactive record of the trade listed
            field = self.fields[name]
            field.choices = options  # type: ignore[attr-defined]
        if not self.is_bound and "executed_at" not in self.initial:
            self.initial["executed_at"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")

    def service_data(self) -> dict[str, str]:
        """The cleaned values as the trade services read them (empty optional ones left out)."""
        data = {name: str(value).strip() for name, value in self.cleaned_data.items()}
        return {k: v for k, v in data.items() if v != "" or k in ("comment",)}


class TradeAmendForm(TradeForm):
    """The current version's values, to change; only changed values are sent to the
    service (so a new trade date recomputes an untouched settlement date)."""

    def __init__(self, *args: Any, trade: Trade, **kwargs: Any) -> None:
        kwargs.setdefault("initial", trade_values(trade))
        super().__init__(*args, company=trade.company, **kwargs)
        del self.fields["trade_id"]
        self.trade = trade
        self.fields["settlement_date"].help_text = _(
            "Clear it to recompute it from the market's convention."
        )

    def changes(self) -> dict[str, str | None]:
        before = trade_values(self.trade)
        found: dict[str, str | None] = {}
        for name, value in self.cleaned_data.items():
            text = str(value or "").strip()
            old = before.get(name, "")
            if name == "executed_at" and text and _same_moment(text, old):
                continue
            if name in ("quantity", "price", "fees", "commission") and _same_number(text, old):
                continue
            if text != old:
                found[name] = text if text else None
        if found.get("trade_date", "x") is None:
            found.pop("trade_date")  # empty: keep it
        return found


def _same_number(a: str, b: str) -> bool:
    try:
        return Decimal(a or "0") == Decimal(b or "0")
    except ArithmeticError:
        return False


def _same_moment(a: str, b: str) -> bool:
    from django.utils.dateparse import parse_datetime

    try:
        first, second = parse_datetime(a), parse_datetime(b)
    except ValueError:
        return False
    return first is not None and second is not None and first == second


class TradeCancelForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept as the cancelled version's comment."),
    )


class TradeImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("file"),
        help_text=_(
            "CSV or XLSX with a header row: trade_id, executed_at, account, trader, instrument, "
            "broker, side, quantity, price; optionally trade_date, settlement_date, currency, "
            "fees, commission, comment."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = str(upload.name or "").lower()
        if not name.endswith((".csv", ".xlsx", ".txt")):
            raise forms.ValidationError(_("Choose a CSV or XLSX file."))
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large (at most 10 MB)."))
        return upload


# --- confirmations and reconciliation ---------------------------------------------------------


class ConfirmationImportForm(BootstrapMixin, forms.Form):
    broker = forms.ModelChoiceField(
        label=_("broker"),
        queryset=Broker.objects.none(),
        required=False,
        help_text=_(
            "Required for CSV and XLSX files (read with the broker's saved column mapping); "
            "FIX messages name their broker (SenderCompID)."
        ),
    )
    file = forms.FileField(
        label=_("file"),
        help_text=_("FIX 4.4 execution reports, or the broker's CSV or XLSX file."),
    )

    def __init__(self, *args: Any, company: Company | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["broker"].queryset = (  # type: ignore[attr-defined]
            Broker.objects.for_company(company).order_by("code")
            if company is not None
            else Broker.objects.none()
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large (at most 10 MB)."))
        return upload


class ReconcileForm(BootstrapMixin, forms.Form):
    trade_date = forms.DateField(
        label=_("trade date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The trades of this date are matched against the active confirmations."),
    )


class BreakAssignForm(BootstrapMixin, forms.Form):
    owner = forms.ModelChoiceField(label=_("owner"), queryset=Broker.objects.none(), required=False)
    comment = forms.CharField(
        label=_("comment"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, company: Company | None = None, **kwargs: Any) -> None:
        from trastienda.trading.filters import company_members

        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = company_members(company)  # type: ignore[attr-defined]


class BreakResolveForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("How the break was resolved."),
    )

"""Validation of identifiers by country, with python-stdnum."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.es import nif as es_nif
from stdnum.eu import vat as eu_vat
from stdnum.it import codicefiscale as it_cf
from stdnum.it import iva as it_iva

# fmt: off
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
})
# fmt: on


def normalise_tax_id(country: str, value: str) -> str:
    """Return the compact form of ``value`` as a tax id of ``country``, or raise ValidationError.

    Spain: NIF, CIF or NIE (``ES`` prefix accepted). Italy: partita IVA or codice fiscale
    (``IT`` prefix accepted). Other EU countries: the EU VAT number. Elsewhere: any non-empty id.
    """
    value = (value or "").strip().upper().replace(" ", "").replace("-", "").replace(".", "")
    country = (country or "").upper()
    if not value:
        raise ValidationError(_("Enter a tax id."), code="required")
    try:
        if country == "ES":
            return es_nif.validate(value.removeprefix("ES"))
        if country == "IT":
            bare = value.removeprefix("IT")
            if len(bare) == 11 and bare.isdigit():
                return it_iva.validate(bare)
            return it_cf.validate(bare)
        if country in EU_COUNTRIES:
            prefix = "EL" if country == "GR" else country
            return eu_vat.validate(value if value.startswith(prefix) else prefix + value)
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(
            _("%(value)s is not a valid tax id for %(country)s: %(reason)s"),
            code="invalid",
            params={"value": value, "country": country, "reason": str(exc)},
        ) from exc
    return value

"""Validator names in identifiers.yaml, mapped to real library checks.

Every checksum here is python-stdnum's, phonenumbers', ipaddress' or tldextract's;
none is written by hand. A validator takes the candidate text (separators still
in it) and the message language, and says whether it is a real identifier.
"""

from __future__ import annotations

import datetime
import importlib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import phonenumbers
import tldextract
from stdnum import luhn

Validator = Callable[[str, str], bool]

_NON_DIGITS = re.compile(r"[^0-9]")
_DATE_NUMERIC = re.compile(
    r"(?P<a>[0-9]{1,4})[./-](?P<b>[0-9]{1,2})[./-](?P<c>[0-9]{2,4})", re.ASCII
)
_FOUR_DIGITS = re.compile(r"[0-9]{4}", re.ASCII)


class UnknownValidator(ValueError):
    """identifiers.yaml names a validator or stdnum module that does not exist."""


def stdnum_validator(module_name: str) -> Validator:
    """`stdnum:<module>`: that module's is_valid (which compacts first)."""
    try:
        module = importlib.import_module(f"stdnum.{module_name}")
    except ImportError as error:
        raise UnknownValidator(f"no python-stdnum module stdnum.{module_name}") from error
    is_valid = module.is_valid

    def validate(candidate: str, language: str) -> bool:
        return bool(is_valid(candidate))

    return validate


def email_domain_validator(extractor: tldextract.TLDExtract) -> Validator:
    def validate(candidate: str, language: str) -> bool:
        domain = candidate.rpartition("@")[2]
        return extractor(domain).fqdn != ""

    return validate


def phone_international(candidate: str, language: str) -> bool:
    number = candidate.strip()
    if number.startswith("00"):
        number = "+" + number[2:]
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def phone_national_validator(regions_by_language: Mapping[str, Sequence[str]]) -> Validator:
    """National format: valid in one of the regions the message language suggests.

    Where the region dials a trunk prefix ("0" in DE, FR, NL, GB, ...), a
    nationally written number starts with it; without that rule every 7- to
    11-digit number would be tried as a subscriber number.
    """
    regions = {
        language: tuple(
            (region, phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix)
            for region in region_list
        )
        for language, region_list in regions_by_language.items()
    }

    def validate(candidate: str, language: str) -> bool:
        digits = _NON_DIGITS.sub("", candidate)
        for region, trunk_prefix in regions.get(language, ()):
            if trunk_prefix and not digits.startswith(trunk_prefix):
                continue
            if digits.startswith("00"):
                continue  # international, the other rule's business
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
                    return True
            except phonenumbers.NumberParseException:
                continue
        return False

    return validate


def public_ip(candidate: str, language: str) -> bool:
    try:
        return ipaddress.ip_address(candidate).is_global
    except ValueError:
        return False


@dataclass(frozen=True)
class CardNetwork:
    network: str
    prefix: re.Pattern[str]
    lengths: frozenset[int]


def payment_card_validator(networks: Sequence[CardNetwork]) -> Validator:
    def validate(candidate: str, language: str) -> bool:
        digits = _NON_DIGITS.sub("", candidate)
        if not any(
            len(digits) in n.lengths and n.prefix.match(digits) for n in networks
        ):
            return False
        return luhn.is_valid(digits)

    return validate


def date_validator(months: Mapping[str, int]) -> Validator:
    """A calendar date that could be someone's birthday: real, past, after 1900."""

    def validate(candidate: str, language: str) -> bool:
        parsed = _parse_date(candidate, months)
        return parsed is not None and datetime.date(1900, 1, 1) <= parsed <= datetime.date.today()

    return validate


def _parse_date(candidate: str, months: Mapping[str, int]) -> datetime.date | None:
    numeric = _DATE_NUMERIC.search(candidate)
    if numeric:
        a, b, c = numeric.group("a", "b", "c")
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        else:
            day, month, year = int(a), int(b), int(c)
            if len(c) == 2:
                year += 1900 if year > datetime.date.today().year % 100 else 2000
            elif len(c) == 3:
                return None
        return _date_or_none(year, month, day)
    words = re.findall(r"[^\W\d_]+|[0-9]+", candidate.lower())
    month = next((months[w.rstrip(".")] for w in words if w.rstrip(".") in months), None)
    year_match = _FOUR_DIGITS.search(candidate)
    numbers = [int(w) for w in words if w.isdigit() and len(w) <= 2]
    if month is None or year_match is None or not numbers:
        return None
    return _date_or_none(int(year_match.group()), month, numbers[0])


def _date_or_none(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def always_valid(candidate: str, language: str) -> bool:
    """For shapes with nothing to check (addresses): the pattern is the test."""
    return True

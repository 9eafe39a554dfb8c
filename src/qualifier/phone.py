"""Russian phone numbers in free text -> E.164, without mistaking dates, prices or times."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

# Digits with spaces, dashes and brackets between them; dots and colons belong to dates and times.
_CANDIDATE = re.compile(r"(?<![\d\w])(\+?\s?\d[\d\s\-()]{8,20}\d)(?![\d\w])")


def normalize_phone(raw: str) -> str | None:
    """One number as written (`8 913 123-45-67`, `79161234567`) -> `+79131234567`, or None."""
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 10:
        candidate = "+7" + digits
    elif len(digits) == 11 and digits[0] in "78":
        candidate = "+7" + digits[1:]
    elif raw.strip().startswith("+") and 8 <= len(digits) <= 15:
        candidate = "+" + digits
    else:
        return None
    try:
        number = phonenumbers.parse(candidate, "RU")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def find_phones(text: str) -> list[str]:
    found: list[str] = []
    for match in _CANDIDATE.finditer(text):
        chunk = match.group(1)
        if chunk.count("(") != chunk.count(")"):
            chunk = chunk.replace("(", " ").replace(")", " ")
        phone = normalize_phone(chunk)
        if phone and phone not in found:
            found.append(phone)
    return found


def mask_phone(phone: str) -> str:
    """`+79131234567` -> `+7913***4567`, for logs."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "***"
    return f"+{digits[:4]}***{digits[-4:]}"


_ANY_PHONE = re.compile(r"\+?\d[\d\s\-()]{8,20}\d")


def _international(raw: str) -> str | None:
    """A number written whole with its country code, as WhatsApp's wa_id is (`447700900123`)."""
    digits = re.sub(r"\D", "", raw)
    if not 8 <= len(digits) <= 15:
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    # possible, not only valid: in a log line, masking a number too many is the safe mistake
    return "+" + digits if phonenumbers.is_possible_number(number) else None


def mask_phones_in(text: str) -> str:
    """Every phone number in `text` masked: Russian ones as people write them, any country's in full."""

    def masked(match: re.Match[str]) -> str:
        phone = normalize_phone(match.group(0)) or _international(match.group(0))
        return mask_phone(phone) if phone else match.group(0)

    return _ANY_PHONE.sub(masked, text)


_EXTENSION = re.compile(r"(?:доб(?:авочный)?|ext(?:ension)?|вн(?:утр)?|#)\.?\s*(\d{1,6})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TypedPhone:
    """A phone field as a person filled it: what a call can use, and the rest for a manager to read."""

    typed: str  # the field as given
    phone: str | None  # the first number valid for its country, in E.164
    others: tuple[str, ...] = ()  # more numbers in the same field
    extension: str | None = None


def read_phone_field(raw: str) -> TypedPhone:
    """`+7 913 123-45-67 доб. 12`, `8 913 123 45 67, 8 383 211 22 33`, `+1 650 253 0000`, `0044 20 7946 0000`:
    the numbers in one field, each kept only if valid for its country; an extension apart."""
    extension = None
    phones: list[str] = []
    for chunk in (c.strip() for c in re.split(r"[,;]|\s(?:или|or)\s", raw) if c.strip()):
        if (found := _EXTENSION.search(chunk)) is not None:
            extension, chunk = extension or found.group(1), chunk[: found.start()].strip()
        if chunk.startswith("00"):  # the international prefix written as 00
            chunk = "+" + chunk[2:]
        single = normalize_phone(chunk)
        for phone in [single] if single else find_phones(chunk):
            if phone not in phones:
                phones.append(phone)
    return TypedPhone(raw.strip(), phones[0] if phones else None, tuple(phones[1:]), extension)

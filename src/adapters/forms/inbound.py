"""A website form's submission, from Tilda's webhook (`application/x-www-form-urlencoded`: fields `Name`,
`Phone`, `Email`, custom fields by the names given in the form, and the technical `tranid` and
`formid`; `test=test` when the webhook is connected), from a JSON object with the same names, or from the
other builders' shapes `shapes.plain_fields` reads (Elementor, WPForms, Contact Form 7)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from adapters.forms.links import links_in
from adapters.forms.shapes import canonical, plain_fields
from domain import UTM_FIELDS

# Field names as `shapes.canonical` writes them.
NAME_FIELDS = ("name", "fio", "фио", "имя", "fullname")
FIRST_NAME_FIELDS = ("firstname", "first", "fname", "givenname")
LAST_NAME_FIELDS = ("lastname", "last", "lname", "surname", "familyname", "фамилия")
PHONE_FIELDS = ("phone", "tel", "telephone", "телефон", "phonenumber", "mobile", "mobilephone", "номертелефона")
EMAIL_FIELDS = ("email", "mail", "почта", "emailaddress")
CONSENT_FIELDS = ("consent", "agreement", "agree", "согласие", "acceptance")
CONSENT_EXACT = "checkbox"  # Tilda's default name for its consent box; Contact Form 7's `checkbox-512` is not one
PAGE_FIELDS = ("pageurl", "page", "referer", "referrer")
# Builders' own fields, not the client's (Elementor's without advanced data: "User Agent", "Remote IP").
TECHNICAL = frozenset({"tranid", "formid", "test", "cookies", "formname", "useragent", "remoteip", "poweredby"})
# A ticked box posts its label or a yes of its own ("on", "1", "Я согласна…"); an unticked one posts
# nothing, or one of these.
NOT_TICKED = frozenset({"", "no", "off", "0", "false", "n", "нет"})
MAX_FIELD = 2000  # characters kept of any one field


class FormRefused(ValueError):
    """The submission cannot become a lead; `code` says why, for the 400's body."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Submission:
    form_id: str
    submission_id: str  # Tilda's tranid; else a digest of the fields (a re-sent form is the same one)
    phone: str
    name: str | None = None
    email: str | None = None
    consent: bool = False
    utm: dict[str, str] = field(default_factory=dict)
    details: tuple[tuple[str, str], ...] = ()  # every other field, as the form named it
    links: tuple[str, ...] = ()  # messenger addresses the client left (telegram:anna_k, vk:1234)
    is_test: bool = False


def _first(fields: dict[str, str], names: tuple[str, ...]) -> str | None:
    for key, value in fields.items():
        if canonical(key) in names and value.strip():
            return value.strip()[:MAX_FIELD]
    return None


def _is_consent(key: str) -> bool:
    return canonical(key) in CONSENT_FIELDS or key.strip().lower() == CONSENT_EXACT


def _name(fields: dict[str, str]) -> str | None:
    """The name field, or the first and last names the form asked for apart."""
    whole = _first(fields, NAME_FIELDS)
    if whole is not None:
        return whole
    parts = [_first(fields, FIRST_NAME_FIELDS), _first(fields, LAST_NAME_FIELDS)]
    return " ".join(p for p in parts if p) or None


def _utm(fields: dict[str, str]) -> dict[str, str]:
    """The form's UTM fields, else the ones in the address of the page it was sent from."""
    utm = {tag: fields[tag].strip()[:255] for tag in UTM_FIELDS if fields.get(tag, "").strip()}
    page = _first(fields, PAGE_FIELDS)
    if utm or page is None:
        return utm
    query = dict(parse_qsl(urlsplit(page).query))
    return {tag: query[tag].strip()[:255] for tag in UTM_FIELDS if query.get(tag, "").strip()}


def read(fields: dict[str, str], honeypot: str | None = None) -> Submission | None:
    """The submission; None for a bot that filled the hidden `honeypot` field. FormRefused without a
    phone (the lead could not be called back)."""
    # Tilda checks the webhook with `test=test` alone when it is added; a form that also has a phone is a lead
    if fields.get("test") == "test" and _first(fields, PHONE_FIELDS) is None:
        return Submission(form_id="", submission_id="test", phone="", is_test=True)
    if honeypot and fields.get(honeypot, "").strip():
        return None
    phone = _first(fields, PHONE_FIELDS)
    if not phone or sum(ch.isdigit() for ch in phone) < 7:
        raise FormRefused("phone_required", "the form has no phone number to call back")
    known = {
        *NAME_FIELDS,
        *FIRST_NAME_FIELDS,
        *LAST_NAME_FIELDS,
        *PHONE_FIELDS,
        *EMAIL_FIELDS,
        *CONSENT_FIELDS,
        *PAGE_FIELDS,
        *TECHNICAL,
        *(canonical(tag) for tag in UTM_FIELDS),
    }
    if honeypot:
        known.add(canonical(honeypot))
    details = tuple(
        (key[:60], value.strip()[:MAX_FIELD])
        for key, value in fields.items()
        if canonical(key) not in known and not _is_consent(key) and value.strip()
    )
    # every consent box the form has must be ticked: two boxes (data, offers) and one unticked is no consent
    boxes = [v.strip().lower() for k, v in fields.items() if _is_consent(k)]
    consent = bool(boxes) and all(box not in NOT_TICKED for box in boxes)
    utm = _utm(fields)
    form_id = (fields.get("formid") or "form").strip()[:64]
    tranid = (fields.get("tranid") or "").strip()[:128]
    if not tranid:
        tranid = hashlib.sha256(json.dumps(sorted(fields.items()), ensure_ascii=False).encode()).hexdigest()[:32]
    return Submission(
        form_id=form_id,
        submission_id=tranid,
        phone=phone,
        name=_name(fields),
        email=_first(fields, EMAIL_FIELDS),
        consent=consent,
        utm=utm,
        details=details,
        links=links_in(fields),
    )


def flatten(raw: object) -> dict[str, str]:
    """A form's fields (a JSON object or urlencoded fields as PHP nests them) as strings; FormRefused for
    anything that is not an object."""
    if not isinstance(raw, dict):
        raise FormRefused("malformed_body", "a form is a JSON object or urlencoded fields")
    return plain_fields(raw)


def text_of(submission: Submission, phone_lines: tuple[str, ...] = ()) -> str:
    """What the lead wrote, for the qualifier and the deal's timeline: the form's own fields, and the phone
    as typed (`phone_lines`, worded by the caller, which knows whether it could be read)."""
    lines = [f"Заявка с сайта (форма {submission.form_id})", *phone_lines]
    lines += [f"{key}: {value}" for key, value in submission.details]
    if submission.email:
        lines.append(f"Email: {submission.email}")
    return "\n".join(lines)

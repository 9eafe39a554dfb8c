"""A website form's submission, from Tilda's webhook (`application/x-www-form-urlencoded`: fields `Name`,
`Phone`, `Email`, custom fields by the names given in the form, and the technical `tranid` and
`formid`; `test=test` when the webhook is connected) or from a JSON object with the same names."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from adapters.forms.links import links_in
from domain import UTM_FIELDS

NAME_FIELDS = ("name", "fio", "имя")
PHONE_FIELDS = ("phone", "tel", "telephone", "телефон")
EMAIL_FIELDS = ("email", "e-mail", "почта")
CONSENT_FIELDS = ("consent", "checkbox", "agreement", "agree", "согласие")
TECHNICAL = frozenset({"tranid", "formid", "test", "cookies", "formname"})
YES = frozenset({"yes", "on", "1", "true", "y", "да", "согласен", "согласна"})
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
        if key.lower() in names and value.strip():
            return value.strip()[:MAX_FIELD]
    return None


def read(fields: dict[str, str], honeypot: str | None = None) -> Submission | None:
    """The submission; None for a bot that filled the hidden `honeypot` field. FormRefused without a
    phone (the lead could not be called back)."""
    if fields.get("test") == "test" and len(fields) <= 2:  # Tilda checking the webhook when it is added
        return Submission(form_id="", submission_id="test", phone="", is_test=True)
    if honeypot and fields.get(honeypot, "").strip():
        return None
    phone = _first(fields, PHONE_FIELDS)
    if not phone or sum(ch.isdigit() for ch in phone) < 7:
        raise FormRefused("phone_required", "the form has no phone number to call back")
    known = {*NAME_FIELDS, *PHONE_FIELDS, *EMAIL_FIELDS, *CONSENT_FIELDS, *TECHNICAL, *UTM_FIELDS}
    if honeypot:
        known.add(honeypot.lower())
    details = tuple(
        (key[:60], value.strip()[:MAX_FIELD])
        for key, value in fields.items()
        if key.lower() not in known and value.strip()
    )
    consent = (_first(fields, CONSENT_FIELDS) or "").lower() in YES
    utm = {tag: fields[tag].strip()[:255] for tag in UTM_FIELDS if fields.get(tag, "").strip()}
    form_id = (fields.get("formid") or "form").strip()[:64]
    tranid = (fields.get("tranid") or "").strip()[:128]
    if not tranid:
        tranid = hashlib.sha256(json.dumps(sorted(fields.items()), ensure_ascii=False).encode()).hexdigest()[:32]
    return Submission(
        form_id=form_id,
        submission_id=tranid,
        phone=phone,
        name=_first(fields, NAME_FIELDS),
        email=_first(fields, EMAIL_FIELDS),
        consent=consent,
        utm=utm,
        details=details,
        links=links_in(fields),
    )


def flatten(raw: object) -> dict[str, str]:
    """A JSON object's fields as strings (nested values as JSON); FormRefused for anything else."""
    if not isinstance(raw, dict):
        raise FormRefused("malformed_body", "a form is a JSON object or urlencoded fields")
    flat: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            continue
        flat[str(key)] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return flat


def text_of(submission: Submission) -> str:
    """What the lead wrote, for the qualifier and the deal's timeline: the form's own fields."""
    lines = [f"Заявка с сайта (форма {submission.form_id})"]
    lines += [f"{key}: {value}" for key, value in submission.details]
    if submission.email:
        lines.append(f"Email: {submission.email}")
    return "\n".join(lines)

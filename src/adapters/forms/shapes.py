"""The shapes form builders post, read as one flat list of (field's name, value as the client gave it).

- Tilda and most builders' plain webhooks: `Name=…&Phone=…` or `{"name": …, "phone": …}`.
- Elementor Pro's webhook with advanced data: `form[id]`, `form[name]`, `fields[<id>][title]` and
  `fields[<id>][value]` (and `raw_value`, `type`), `meta[page_url][value]`.
- WPForms entries (its webhook add-on or a relay): `fields` as `{"<id>": {"name": "Phone", "value": …}}`,
  a name field also carrying `first`, `middle` and `last`.
- Contact Form 7 relays: its tag names (`your-name`, `your-phone`, `tel-123`); see `canonical`.
- A nested name, `{"first": "John", "last": "Smith"}`, wherever it appears, is "John Smith".
"""

from __future__ import annotations

import json
import re
from typing import Any

TYPED = ("name", "phone", "tel", "email")  # field types that say what a field holds better than its label
NAME_PARTS = ("first", "first_name", "firstname", "middle", "last", "last_name", "lastname")


def canonical(key: str) -> str:
    """A field's name as the readers match it: lower case, without Contact Form 7's `your-` and its
    numbered tags' `-123`, separators dropped (`First Name`, `first_name`, `firstName` alike)."""
    key = key.strip().lower()
    key = re.sub(r"^your[-_ ]", "", key)
    key = re.sub(r"[-_ ]\d+$", "", key)
    return re.sub(r"[-_ .]", "", key)


def _text(value: Any) -> str:
    """A value as the client gave it: a nested name joined, a list's items joined, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("yes" if value else "")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        parts = [value.get(part) for part in NAME_PARTS if isinstance(value.get(part), str)]
        if parts and all(canonical(str(k)) in {canonical(p) for p in NAME_PARTS} for k in value):
            return " ".join(p.strip() for p in parts if p and p.strip())
        if isinstance(value.get("value"), str):
            return str(value["value"])
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False)


def _described(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """Elementor's and WPForms' `fields`: each field described by its title (or name) and value."""
    found = []
    for field_id, field in fields.items():
        if not isinstance(field, dict):
            found.append((str(field_id), _text(field)))
            continue
        title = next((field[k] for k in ("title", "name", "label") if isinstance(field.get(k), str) and field[k]), "")
        if field.get("type") in TYPED:  # "Ваше имя" of type name is the name, whatever its label
            title = str(field["type"])
        parts = {k: field[k] for k in NAME_PARTS if isinstance(field.get(k), str) and field[k].strip()}
        value = field.get("value")
        if (not isinstance(value, str) or not value.strip()) and parts:
            value = parts
        found.append((title or str(field_id), _text(value if value is not None else field.get("raw_value"))))
    return found


def _described_fields(raw: dict[str, Any]) -> bool:
    fields = raw.get("fields")
    return isinstance(fields, dict) and any(isinstance(f, dict) and "value" in f for f in fields.values())


def plain_fields(raw: dict[str, Any]) -> dict[str, str]:
    """Every field the client filled, by the name the form gave it; the form's id under `formid`."""
    flat: dict[str, str] = {}
    if _described_fields(raw):
        for title, value in _described(raw["fields"]):
            flat.setdefault(title, value)
        form = raw.get("form")
        if isinstance(form, dict) and isinstance(form.get("id"), str | int):
            flat.setdefault("formid", str(form["id"]))
        for key in ("form_id", "id"):  # WPForms names its form's id so
            if isinstance(raw.get(key), str | int) and "formid" not in flat:
                flat["formid"] = str(raw[key])
        meta = raw.get("meta")
        page = meta.get("page_url") if isinstance(meta, dict) else None
        if isinstance(page, dict) and isinstance(page.get("value"), str):
            flat.setdefault("page_url", page["value"])
    for key, value in raw.items():
        if key in ("fields", "form", "meta") and _described_fields(raw):
            continue
        if value is None:
            continue
        flat.setdefault(str(key), _text(value))
    return flat

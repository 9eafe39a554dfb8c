"""The one reader of a tenant's texts: words with their fields put in, the variant they are, and no use
case reading a text any other way (so an experiment's wording reaches every message)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.settings.texts import Texts
from gateway.usecases.voice.say import DEFAULT, UnknownText, say

USECASES = Path(__file__).resolve().parents[3] / "src" / "gateway" / "usecases"


def test_words_with_fields_and_their_variant() -> None:
    texts = replace(Texts(), confirmed="Ждём вас {when}.")
    said = say(texts, "confirmed", when="завтра в 15:00")
    assert said.text == "Ждём вас завтра в 15:00."
    assert said.variant == DEFAULT


def test_a_text_without_fields_is_given_as_written() -> None:
    texts = replace(Texts(), thanks="Спасибо! {не поле}")  # braces kept when nothing is put in
    assert say(texts, "thanks").text == "Спасибо! {не поле}"


def test_an_unknown_text_id_is_an_error_not_silence() -> None:
    with pytest.raises(UnknownText):
        say(Texts(), "no_such_text")


def test_use_cases_read_texts_only_through_say() -> None:
    fields = set(Texts.__dataclass_fields__)
    found = []
    for path in sorted(USECASES.rglob("*.py")):
        if path.parent.name == "voice":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in fields:
                owner = node.value
                name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                if name == "texts":
                    found.append(f"{path.relative_to(USECASES)}:{node.lineno}: texts.{node.attr}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Attribute) and first.attr == "texts":
                    found.append(f"{path.relative_to(USECASES)}:{node.lineno}: getattr(texts, ...)")
    assert found == []

"""Which Bitrix24 methods the gateway calls is read in one file (`bitrix/methods.py`): no REST method is
named as a literal anywhere else in the application (the stand-ins play the portal and may)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bitrix import methods

SRC = Path(__file__).resolve().parents[2] / "src"
# Bitrix24's REST namespaces (the first part of every method name)
NAMESPACES = [
    "batch",
    "bizproc",
    "booking",
    "calendar",
    "catalog",
    "crm",
    "department",
    "disk",
    "entity",
    "event",
    "im",
    "imbot",
    "imconnector",
    "imopenlines",
    "landing",
    "lists",
    "log",
    "messageservice",
    "placement",
    "profile",
    "sale",
    "sonet_group",
    "task",
    "tasks",
    "telephony",
    "timeman",
    "user",
    "userfield",
    "voximplant",
]
METHOD = re.compile(rf"^(?:{'|'.join(NAMESPACES)})\.[a-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$")
ALLOWED = [SRC / "bitrix", SRC / "gateway" / "sandbox"]


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and METHOD.match(node.value)
    ]


def test_no_method_literal_outside_the_client_package() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}: {value}"
        for path in sorted(SRC.rglob("*.py"))
        if not any(path.is_relative_to(allowed) for allowed in ALLOWED)
        for line, value in _literals(path)
    ]
    assert found == []


def test_the_pattern_finds_what_it_must() -> None:
    # the check above cannot pass by matching nothing: every listed method is a literal it would flag
    listed = [value for name, value in vars(methods).items() if name.isupper()]
    assert len(listed) >= 30
    assert all(METHOD.match(value) for value in listed)
    assert not METHOD.match("app.ok") and not METHOD.match("crm sync")


def test_every_listed_method_is_called() -> None:
    """A name left in the list after its last call would misstate what the gateway asks of a portal."""
    used = " ".join(
        path.read_text(encoding="utf-8")
        for path in (SRC / "gateway").rglob("*.py")
        if not path.is_relative_to(SRC / "gateway" / "sandbox")
    )
    unused = [name for name in vars(methods) if name.isupper() and f"methods.{name}" not in used]
    assert unused == []

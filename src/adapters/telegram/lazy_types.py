"""Import aiogram with its pydantic models built on first use instead of all at import.

aiogram's types package calls `model_rebuild` on all of its ~400 models at import. Its base
model has a `model_validator`, which keeps pydantic from sharing nested validators, so every
model carries its own copy of everything it can contain: about 130 MB of resident memory, of
which the gateway uses a handful (Update, Message, User and the method payloads). The models
are declared `defer_build=True` already; only that loop defeats it. Here the loop is let run
without building, each model keeps the namespace it would have been built with, and pydantic
builds a model the first time it validates or serialises one (its documented `defer_build`
behaviour). The models the gateway needs are built at once, so a broken build fails at start.
It leans on one private attribute, `__pydantic_parent_namespace__`; tests/test_telegram_lazy_types.py
fails if an aiogram or pydantic upgrade changes what this relies on.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel

# What `import aiogram` builds eagerly when this module does not run first.
EAGER_MARKER = "aiogram.types"


@contextmanager
def _rebuilds_deferred(namespaces: dict[type[BaseModel], Mapping[str, Any]]) -> Iterator[None]:
    original = BaseModel.__dict__["model_rebuild"]

    def remember(cls: type[BaseModel], /, *, _types_namespace: Mapping[str, Any] | None = None, **_: Any) -> None:
        if _types_namespace is not None:
            namespaces[cls] = _types_namespace

    BaseModel.model_rebuild = classmethod(remember)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]


def import_aiogram() -> None:
    """Import aiogram once, deferred; a no-op when it is already imported (then it was eager)."""
    if EAGER_MARKER in sys.modules:
        return
    namespaces: dict[type[BaseModel], Mapping[str, Any]] = {}
    with _rebuilds_deferred(namespaces):
        import aiogram.types  # noqa: F401
    shared: dict[str, Any] = {}
    for namespace in namespaces.values():
        shared.update(namespace)  # aiogram passes one namespace to all; kept once, not per model
    # pydantic merges this into the namespace of every later (lazy) rebuild of a model. The
    # method models were declared while the types were unbuilt, so they need it as well.
    for model in [*namespaces, *_unbuilt_methods()]:
        model.__pydantic_parent_namespace__ = shared
    _build_now(shared)


def _unbuilt_methods() -> list[type[BaseModel]]:
    import aiogram.methods

    found = (getattr(aiogram.methods, name) for name in aiogram.methods.__all__)
    return [m for m in found if isinstance(m, type) and issubclass(m, BaseModel) and not m.__pydantic_complete__]


def _build_now(namespace: Mapping[str, Any]) -> None:
    from aiogram import methods, types

    received = (types.Update, types.Message, types.CallbackQuery, types.User)
    sent = (
        methods.SendMessage,
        methods.AnswerCallbackQuery,
        methods.GetUpdates,
        methods.DeleteWebhook,
        methods.GetMe,
        types.InlineKeyboardMarkup,
        types.InlineKeyboardButton,
        types.ReplyKeyboardMarkup,
        types.KeyboardButton,
        types.ReplyKeyboardRemove,
    )
    for model in (*received, *sent):
        model.model_rebuild(_types_namespace=namespace)
    _keep_responses(sent)


# aiogram parametrises `Response[...]` on every call; pydantic keeps parametrised generics only weakly,
# so the collector frees one between sends and the next send builds its whole schema again (13.6 ms,
# measured 89 times in 400 messages). Held here, each is built once.
KEPT_RESPONSES: list[type[BaseModel]] = []


def _keep_responses(sent: tuple[type[BaseModel], ...]) -> None:
    from aiogram.methods.base import Response

    for method in sent:
        returning = getattr(method, "__returning__", None)
        if returning is not None:
            KEPT_RESPONSES.append(Response[returning])  # type: ignore[valid-type]

"""One message through the qualifier: the rules always, the LLM only when the rules leave something."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from qualifier.gate import needs_llm
from qualifier.llm import LlmQualifier, merge
from qualifier.result import Extraction
from qualifier.rules import RuleQualifier


class Qualifier:
    def __init__(self, rules: RuleQualifier, llm: LlmQualifier | None = None) -> None:
        self.rules = rules
        self.llm = llm

    async def extract(
        self, text: str, now: datetime, *, budget: Callable[[], Awaitable[bool]] | None = None
    ) -> Extraction:
        """`budget` is asked only when a call is about to be made, so it counts calls, not messages."""
        found = self.rules.extract(text, now)
        if self.llm is None or not needs_llm(text, found):
            return found
        if budget is not None and not await budget():
            return found
        answer = await self.llm.ask(text, now)
        if answer is None:
            return found  # timeout, error, garbage: the rules' result, the message is not lost
        return merge(found, self.llm.validated(answer, text, now))

"""The qualifier of a tenant: the rules, and the LLM layer when the config has one (one client a process)."""

from __future__ import annotations

from typing import Any

from gateway.settings import LlmConfig, TenantConfig
from qualifier.catalog import ServiceMatcher
from qualifier.llm import LlmObserver, LlmQualifier
from qualifier.pipeline import Qualifier
from qualifier.rules import RuleQualifier


def make_llm_client(config: LlmConfig) -> Any:
    """One OpenAI-compatible client for the process; it connects on first use."""
    from openai import AsyncOpenAI

    # No SDK retries: a slow model must not hold a reply back; the rules answer instead.
    return AsyncOpenAI(api_key=config.api_key, base_url=config.base_url, max_retries=0, timeout=config.timeout_seconds)


def build_qualifier(
    tenant: TenantConfig,
    matcher: ServiceMatcher,
    llm: LlmConfig | None,
    client: Any,
    observe: LlmObserver | None = None,
) -> Qualifier:
    hours = tenant.opening_hours()
    rules = RuleQualifier(matcher, hours)
    if llm is None or client is None:
        return Qualifier(rules)
    model = LlmQualifier(client, llm.model, matcher.services, hours, timeout=llm.timeout_seconds, observe=observe)
    return Qualifier(rules, model)

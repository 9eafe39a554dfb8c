"""Prometheus metrics, one registry per process (not the global one, so tests stay independent)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from gateway.store.redis_connection import ROUND_TRIPS


class RoundTrips(Collector):
    """Redis round trips this process made, by who made them (http, inbound, crm)."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "lead_gateway_redis_round_trips", "Redis round trips (a pipeline or script is one) by role", labels=["role"]
        )
        for role, count in sorted(ROUND_TRIPS.items()):
            family.add_metric([role], count)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(RoundTrips())
        self.webhooks = Counter(
            "lead_gateway_webhooks_total",
            "Webhook requests by outcome",
            ["tenant", "channel", "outcome"],
            registry=self.registry,
        )
        self.jobs = Counter(
            "lead_gateway_jobs_total", "Queue jobs by outcome", ["function", "outcome"], registry=self.registry
        )
        self.bitrix_calls = Counter(
            "lead_gateway_bitrix_calls_total",
            "Bitrix24 calls by method and outcome",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.replies = Counter(
            "lead_gateway_replies_total",
            "Replies by channel and outcome",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.first_reply_seconds = Histogram(
            "lead_gateway_first_reply_seconds",
            "From webhook receipt to the reply being sent",
            ["channel"],
            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.delivery_statuses = Counter(
            "lead_gateway_delivery_statuses_total",
            "Delivery status callbacks for sent messages (acknowledged, not turned into messages)",
            ["tenant", "channel", "status"],
            registry=self.registry,
        )
        self.credentials_ok = Gauge(
            "lead_gateway_credentials_ok",
            "1 if the last call with this tenant's credentials (bitrix, telegram, whatsapp, instagram) succeeded",
            ["tenant", "component"],
            registry=self.registry,
        )
        self.llm_calls = Counter(
            "lead_gateway_llm_calls_total",
            "LLM calls by outcome (ok, invalid, timeout, error)",
            ["outcome"],
            registry=self.registry,
        )
        self.llm_tokens = Counter("lead_gateway_llm_tokens_total", "LLM tokens used", ["kind"], registry=self.registry)
        self.dead_letters = Gauge(
            "lead_gateway_dead_letters", "Entries in the dead-letter queue", registry=self.registry
        )
        self.queue_depth = Gauge(
            "lead_gateway_queue_depth", "Jobs waiting in each queue", ["queue"], registry=self.registry
        )
        self.limiter_wait_seconds = Gauge(
            "lead_gateway_bitrix_limiter_wait_seconds",
            "Total time spent waiting for the portal's rate limit",
            ["tenant"],
            registry=self.registry,
        )
        self.reminders = Counter(
            "lead_gateway_reminders_total",
            "Bot-initiated visit messages (reminders, notices) by kind and outcome",
            ["tenant", "kind", "outcome"],
            registry=self.registry,
        )
        self.login_failures = Counter(
            "lead_gateway_owner_login_failures_total",
            "Wrong dashboard or API passwords, and attempts refused after too many of them",
            ["tenant", "outcome"],
            registry=self.registry,
        )
        self.portal_polls = Counter(
            "lead_gateway_portal_poll_requests_total",
            "Bitrix24 requests spent reading recently changed deals",
            ["tenant"],
            registry=self.registry,
        )

"""The composition root: every client built once from the config and handed to whoever needs it."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

from adapters.instagram.outbound import InstagramSender
from adapters.max.outbound import MaxApi, MaxSender
from adapters.meta.graph import GraphClient
from adapters.sms.outbound import Smsc, SmsProvider, SmsRu, SmsSender
from adapters.telegram.outbound import TelegramSender, make_bot
from adapters.vk.outbound import VkApi, VkSender
from adapters.whatsapp.outbound import WhatsAppSender
from bitrix.batcher import Batcher
from bitrix.client import BitrixClient, make_http_client
from bitrix.limiter import LeakyBucket
from bitrix.sandbox import Sandbox
from domain import Channel, PlainSender, Recipient, Reply, Sender, SendRejected
from gateway.bootstrap.app_mode import (
    app_access,
    app_context,
    log_for_line,
    manager_leads,
    mirrored,
    queue_handoff_of,
)
from gateway.bootstrap.qualifying import build_qualifier, make_llm_client
from gateway.metrics import Metrics
from gateway.sandbox.telegram import TelegramSandbox
from gateway.settings import AppConfig, TenantConfig, Texts
from gateway.settings.channels import SmsConfig
from gateway.store import health, keys
from gateway.store.queue import (
    Intake,
    job_deserializer,
    job_serializer,
    queue_crm_sync,
    queue_rating_todo,
    queue_reach,
)
from gateway.store.redis_connection import TcpConnection, UnixConnection
from gateway.usecases.conversation.context import ConversationContext
from gateway.usecases.crm.context import CrmContext
from gateway.usecases.crm.deal_reads import deal_closed
from gateway.usecases.visits.dialogue import Dialogue
from qualifier.catalog import ServiceMatcher
from qualifier.pipeline import Qualifier

if TYPE_CHECKING:  # SQLAlchemy (~30 MB) is loaded only by a process that serves a tenant with `lifecycle:`
    from sqlalchemy.ext.asyncio import AsyncEngine

    from gateway.usecases.manager_chat.context import AppContext
    from gateway.usecases.visits.appointments import Appointments

logger = logging.getLogger("gateway.bootstrap")

SANDBOX_USER, SANDBOX_CODE = "1", "sandbox"


def connect_redis(url: str) -> ArqRedis:
    """A pool that connects lazily: building it touches no network."""
    connection = UnixConnection if url.startswith("unix:") else TcpConnection
    pool = ConnectionPool.from_url(
        url, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30, connection_class=connection
    )
    pool.connection_class = connection  # from_url puts redis-py's own class back for a unix:// URL
    return ArqRedis(pool, job_serializer=job_serializer, job_deserializer=job_deserializer)


class NoChannel(PlainSender):
    """A sender for a tenant without that channel configured: refuses loudly."""

    async def send(self, to: Recipient, reply: Reply) -> None:
        raise SendRejected("channel not configured for this tenant")


def _senders(tenant: TenantConfig, http: httpx.AsyncClient, runtime: Runtime) -> dict[str, Sender]:
    """The tenant's way out on each channel it has."""
    senders: dict[str, Sender] = {}
    channels = tenant.channels
    if channels.telegram is not None:
        tg = TelegramSender(make_bot(channels.telegram.bot_token, channels.telegram.api_base))
        senders[Channel.TELEGRAM] = tg
        runtime._closers.append(tg.close)
    if channels.whatsapp is not None:
        wa = channels.whatsapp
        template = (wa.window_template.name, wa.window_template.language) if wa.window_template else None
        senders[Channel.WHATSAPP] = WhatsAppSender(
            GraphClient(http, wa.api_base, wa.access_token), wa.phone_number_id, template
        )
    if channels.instagram is not None:
        ig = channels.instagram
        senders[Channel.INSTAGRAM] = InstagramSender(GraphClient(http, ig.api_base, ig.access_token), ig.account_id)
    if channels.vk is not None:
        vk = channels.vk
        senders[Channel.VK] = VkSender(VkApi(http, vk.api_base, vk.access_token, vk.version))
    if channels.max is not None:
        senders[Channel.MAX] = MaxSender(MaxApi(http, channels.max.api_base, channels.max.bot_token))
    if tenant.sms is not None:
        senders[Channel.SMS] = SmsSender(sms_provider(http, tenant.sms))
    return senders


def sms_provider(http: httpx.AsyncClient, sms: SmsConfig) -> SmsProvider:
    if sms.provider == "smsru":
        return SmsRu(http, sms.base(), sms.api_id or "", sms.sender)
    return Smsc(http, sms.base(), sms.login or "", sms.password or "", sms.sender)


def portal_of(webhook_url: str) -> str:
    """The name the CRM ids we keep, and the visits, are filed under: a digest of the portal's address."""
    return hashlib.sha256(webhook_url.encode()).hexdigest()[:16]


@dataclass
class TenantServices:
    id: str
    config: TenantConfig
    matcher: ServiceMatcher
    qualifier: Qualifier
    dialogue: Dialogue
    portal: str  # a digest of the portal's webhook URL: which portal the CRM ids we keep belong to
    bucket: LeakyBucket
    crm: Batcher  # shared by the tenants of one portal
    senders: dict[str, Sender]
    appointments: Appointments | None = None  # with `lifecycle:` only
    visit_replies: Any = None  # VisitReplies, with `lifecycle:` only
    app: AppContext | None = None  # with `bitrix.app` only: the Bitrix24 app and its Open Line
    raw_senders: dict[str, Sender] = field(default_factory=dict)  # without the line's mirror (app mode)
    deposits: Any = None  # Deposits, with `lifecycle.deposit` and `payments`

    def services_by_id(self) -> dict[str, str]:
        return {s.id: s.name for s in self.matcher.services}


@dataclass
class Runtime:
    config: AppConfig
    redis: ArqRedis
    http: httpx.AsyncClient
    metrics: Metrics
    tenants: dict[str, TenantServices]
    intake: Intake
    health: health.Recorder
    bitrix_sandbox: Sandbox | None = None
    telegram_sandbox: TelegramSandbox | None = None
    outboxes: dict[str, Any] = field(default_factory=dict)  # the VK, MAX and SMS stand-ins of `make run`, by name
    store: AsyncEngine | None = None  # the business store, built when a tenant has `lifecycle:`
    # What time it is, for everything that decides by it (tests move it to run a day in seconds).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _closers: list[Any] = field(default_factory=list)

    def conversation_context(self, tenant: str, channel: str) -> ConversationContext:
        t = self.tenants[tenant]
        return ConversationContext(
            redis=self.redis,
            tenant=t.config,
            qualifier=t.qualifier,
            dialogue=t.dialogue,
            sender=t.senders.get(channel, NoChannel()),
            llm_calls_per_hour=self.config.llm.calls_per_conversation_hour if self.config.llm else 0,
            replies_per_minute=self.config.limits.replies_per_conversation_minute,
            visits=t.visit_replies,
            clock=self.clock,
            analytics=t.config.analytics and self.store is not None,
            on_form=self._form_reach(t) if t.visit_replies is not None and channel == Channel.FORM else None,
            form_answers=self._form_answers(t) if t.visit_replies is not None else None,
            manager_leads=functools.partial(manager_leads, self.redis) if t.app is not None else None,
            log_for_line=functools.partial(log_for_line, self.redis, t, self.config.secret_key or "", self.clock)
            if t.app is not None
            else None,
            on_handoff=functools.partial(queue_handoff_of, self.intake, tenant) if t.app is not None else None,
            deal_closed=functools.partial(deal_closed, self.crm_context(tenant)) if t.visit_replies is None else None,
        )

    def _form_reach(self, t: TenantServices) -> Any:
        from gateway.usecases.conversation import lead_reach

        return functools.partial(lead_reach.plan, t.visit_replies, functools.partial(queue_reach, self.redis))

    def _form_answers(self, t: TenantServices) -> Any:
        from gateway.usecases.conversation.form_answers import FormAnswers

        return FormAnswers(t.visit_replies, functools.partial(queue_crm_sync, self.redis, t.id))

    def reach_context(self, tenant: str) -> Any:
        """The tenant's ReachContext (lifecycle tenants only; it brings SQLAlchemy)."""
        from gateway.usecases.conversation.lead_reach import MESSENGERS, ReachContext

        t = self.tenants[tenant]
        vk = t.senders.get(Channel.VK)
        return ReachContext(
            visits=t.visit_replies,
            sender_of=functools.partial(self.sender, tenant),
            queue_crm_sync=functools.partial(queue_crm_sync, self.redis, tenant),
            queue=functools.partial(queue_reach, self.redis),
            channels=frozenset(c for c in t.senders if c in MESSENGERS),
            resolve_vk=vk.person_id if isinstance(vk, VkSender) else None,
        )

    def crm_context(self, tenant: str) -> CrmContext:
        t = self.tenants[tenant]
        return CrmContext(
            redis=self.redis,
            crm=t.crm,
            tenant=t.config,
            service_names=t.services_by_id(),
            tenant_id=tenant,
            portal=t.portal,
            appointments=t.appointments,
        )

    def sender(self, tenant: str, channel: str) -> Sender:
        return self.tenants[tenant].senders.get(channel, NoChannel())

    def portal_changes(self, tenant: str) -> Any:
        """The tenant's PortalChanges (lifecycle tenants only; it brings SQLAlchemy)."""
        from gateway.usecases.crm.portal_changes import PortalChanges

        t = self.tenants[tenant]
        assert t.appointments is not None  # noqa: S101 - callers check the tenant has `lifecycle:`
        durations = {s.id: s.duration_min for s in t.matcher.services}
        queue_sync = functools.partial(queue_crm_sync, self.redis, tenant)
        return PortalChanges(self.crm_context(tenant), t.appointments, durations, queue_sync)

    async def close(self) -> None:
        for closer in self._closers:
            await closer()
        await self.http.aclose()
        await self.redis.aclose()


def build_runtime(
    config: AppConfig,
    redis_url: str,
    *,
    sandbox_base: str,
    http: httpx.AsyncClient | None = None,
    bitrix_sandbox: Sandbox | None = None,
    telegram_sandbox: TelegramSandbox | None = None,
    store_url: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Runtime:
    """Build every client; nothing connects until first used. `store_url`: the business store's async
    URL, used when a tenant has `lifecycle:`."""
    redis = connect_redis(redis_url)
    metrics = Metrics()
    http = http or make_http_client()
    runtime = Runtime(
        config=config,
        redis=redis,
        http=http,
        metrics=metrics,
        tenants={},
        intake=Intake(redis, config.queue.dedupe_days * 24 * 3600),
        health=health.Recorder(redis),
        bitrix_sandbox=bitrix_sandbox,
        telegram_sandbox=telegram_sandbox,
    )
    if clock is not None:
        runtime.clock = clock
    if store_url is not None and any(t.analytics or t.bitrix.app is not None for t in config.tenants.values()):
        from gateway.store.sql.engine import make_engine  # SQLAlchemy is loaded only when it is used

        runtime.store = make_engine(store_url)
        runtime._closers.append(runtime.store.dispose)
    llm_client = make_llm_client(config.llm) if config.llm is not None else None
    if llm_client is not None:
        runtime._closers.append(llm_client.close)

    def observe_llm(outcome: str, prompt_tokens: int, completion_tokens: int) -> None:
        metrics.llm_calls.labels(outcome).inc()
        metrics.llm_tokens.labels("prompt").inc(prompt_tokens)
        metrics.llm_tokens.labels("completion").inc(completion_tokens)

    batchers: dict[str, Batcher] = {}  # one per webhook: requests to a portal coalesce
    for tenant_id, tenant in config.tenants.items():
        services = tenant.services()
        matcher = ServiceMatcher(services)
        hours = tenant.opening_hours()
        # The sandbox's code is new each time it starts empty, so ids remembered from an earlier one are
        # recognised as another portal's.
        sandbox_code = bitrix_sandbox.code if bitrix_sandbox is not None else SANDBOX_CODE
        webhook_url = tenant.bitrix.webhook_url or f"{sandbox_base}/sandbox/bitrix/rest/{SANDBOX_USER}/{sandbox_code}/"
        # One bucket per portal: tenants sharing a portal share its budget.
        bucket = LeakyBucket(
            redis,
            keys.bitrix_bucket(webhook_url.split("/rest/")[0]),
            tenant.bitrix.rate_limit.burst,
            tenant.bitrix.rate_limit.per_second,
        )
        access = app_access(runtime, tenant_id, tenant) if tenant.bitrix.app is not None else None
        if access is not None:  # as the app: its own address and token, one batcher a tenant
            assert tenant.bitrix.app is not None  # noqa: S101 - checked above
            webhook_url = f"app:{tenant.bitrix.app.client_id}:{tenant_id}"
        bitrix = BitrixClient(
            webhook_url,
            http,
            bucket,
            observe=lambda method, outcome: metrics.bitrix_calls.labels(method, outcome).inc(),
            access=access,
        )
        crm = batchers.get(webhook_url)
        if crm is None:
            crm = batchers[webhook_url] = Batcher(bitrix, bucket)
            runtime._closers.append(crm.close)
        raw_senders = _senders(tenant, http, runtime)
        senders = mirrored(raw_senders, runtime, tenant_id) if access is not None else raw_senders
        portal = portal_of(webhook_url)
        dialogue = Dialogue(services, hours, Texts(**tenant.texts))
        appointments, visit_replies, deposits = None, None, None
        if tenant.lifecycle is not None and runtime.store is not None:
            from gateway.usecases.visits.appointments import Appointments
            from gateway.usecases.visits.online_booking import OnlineBooking
            from gateway.usecases.visits.replies import VisitReplies

            online = OnlineBooking(crm, tenant.booking, tenant.timezone) if tenant.booking is not None else None
            from gateway.usecases.experiments.book import ExperimentBook

            book = ExperimentBook(runtime.store, redis, tenant_id, tenant.experiments) if tenant.experiments else None
            appointments = Appointments(
                runtime.store, redis, tenant_id, portal, tenant, tenant.lifecycle, online, runtime.clock, book
            )
            on_low_rating = functools.partial(queue_rating_todo, runtime.intake, tenant_id)
            deposits = _deposits(runtime, tenant_id, tenant, appointments)
            visit_replies = VisitReplies(appointments, dialogue, on_low_rating, deposits)
        runtime.tenants[tenant_id] = TenantServices(
            id=tenant_id,
            config=tenant,
            matcher=matcher,
            qualifier=build_qualifier(tenant, matcher, config.llm, llm_client, observe_llm),
            dialogue=dialogue,
            portal=portal,
            bucket=bucket,
            crm=crm,
            senders=senders,
            appointments=appointments,
            visit_replies=visit_replies,
            raw_senders=raw_senders,
            deposits=deposits,
        )
        if access is not None:
            runtime.tenants[tenant_id].app = app_context(runtime, runtime.tenants[tenant_id], access)
    return runtime


def _deposits(runtime: Runtime, tenant_id: str, tenant: TenantConfig, appointments: Any) -> Any:
    """The tenant's Deposits with its payment provider, when it asks for deposits."""
    payments, lifecycle = tenant.payments, tenant.lifecycle
    if payments is None or lifecycle is None or lifecycle.deposit is None:
        return None
    from gateway.usecases.visits.deposits import Deposits
    from payments.yookassa import YooKassa

    provider = YooKassa(runtime.http, payments.shop_id, payments.secret_key, payments.api_base, payments.vat_code)
    return Deposits(
        appointments=appointments,
        provider=provider,
        config=lifecycle.deposit,
        return_url=payments.return_url or DEFAULT_RETURN_URL,
        queue_crm_sync=functools.partial(queue_crm_sync, runtime.redis, tenant_id),
    )


DEFAULT_RETURN_URL = "https://yookassa.ru/"  # where a client lands after paying when the tenant sets none

"""Every Redis key's name and lifetime, in one place so every process agrees on them.

Nothing is written without a lifetime except what is bounded by its own use: the queues (drained),
the dead letters (listed and replayed by ops) and the health hash (one field per tenant component).
"""

PREFIX = "lg"

# A client who comes back within half a year keeps their conversation, deal and contact link.
CONVERSATION_TTL_SECONDS = 180 * 24 * 3600
# Reply and LLM budgets are fixed windows.
REPLY_BUDGET_WINDOW_SECONDS = 60
LLM_BUDGET_WINDOW_SECONDS = 3600


def dedupe(tenant: str, channel: str, key: str) -> str:
    return f"{PREFIX}:seen:{tenant}:{channel}:{key}"


def dialogue(conversation: str) -> str:
    return f"{PREFIX}:conv:{conversation}"


def crm_link(conversation: str) -> str:
    return f"{PREFIX}:crm:{conversation}"


def timeline(conversation: str) -> str:
    return f"{PREFIX}:tl:{conversation}"


def address(tenant: str, entry: str) -> str:
    """The conversation a person is reached in at this address (domain.addresses), kept as long as it."""
    return f"{PREFIX}:addr:{tenant}:{entry}"


def reach_schedule() -> str:
    """Offers to a website form's lead held until quiet hours end (a sorted set by due time); drained."""
    return f"{PREFIX}:reach:held"


def inbox(conversation: str) -> str:
    return f"{PREFIX}:inbox:{conversation}"


def conversation_lock(conversation: str) -> str:
    return f"{PREFIX}:lock:conv:{conversation}"


def crm_lock(conversation: str) -> str:
    return f"{PREFIX}:lock:crm:{conversation}"


def booking_lock(tenant: str) -> str:
    return f"{PREFIX}:lock:booking:{tenant}"


def agenda_lock() -> str:
    return f"{PREFIX}:lock:agenda"


def pruned() -> str:
    """Set while the business store's old rows were pruned within the hour."""
    return f"{PREFIX}:pruned"


def portal_polled(tenant: str) -> str:
    """When the tenant's portal was last asked for changed deals (a Unix time)."""
    return f"{PREFIX}:polled:{tenant}"


def bookings_seen(tenant: str) -> str:
    """Portal bookings the poll found not linked to any deal of ours (not asked about again for a day)."""
    return f"{PREFIX}:bookings:seen:{tenant}"


def person_contact(tenant: str, channel: str, sender_id: str) -> str:
    return f"{PREFIX}:person:{tenant}:{channel}:{sender_id}"


def contact_conversations(tenant: str, contact_id: int) -> str:
    return f"{PREFIX}:contact:{tenant}:{contact_id}"


def deal_conversation(tenant: str, deal_id: int) -> str:
    return f"{PREFIX}:deal:{tenant}:{deal_id}"


def llm_budget(conversation: str) -> str:
    return f"{PREFIX}:llm:{conversation}"


def reply_budget(conversation: str) -> str:
    return f"{PREFIX}:replies:{conversation}"


def poller_lease(bot_id: str) -> str:
    return f"{PREFIX}:lease:poller:{bot_id}"


def bitrix_bucket(portal: str) -> str:
    return f"{PREFIX}:bucket:{portal}"


DEAD_LETTERS = f"{PREFIX}:dlq"
WORKER_HEARTBEAT = f"{PREFIX}:worker:heartbeat"
HEALTH = f"{PREFIX}:health"

# Analytics facts on their way to the business store: appended as they happen, trimmed once folded.
FACTS = f"{PREFIX}:facts"


def form_reach_today(conversation: str) -> str:
    """The form whose offer this conversation got in the last day: strangers' forms add none."""
    return f"{PREFIX}:form-reach:{conversation}"


def login_failures(tenant: str, address: str) -> str:
    """Wrong owner passwords from an address for a tenant in the current window."""
    return f"{PREFIX}:login-failures:{tenant}:{address}"


def form_budget(tenant: str, address: str) -> str:
    """Forms an address posted to a tenant this minute."""
    return f"{PREFIX}:forms:{tenant}:{address}"


def facts_lock() -> str:
    return f"{PREFIX}:lock:facts"

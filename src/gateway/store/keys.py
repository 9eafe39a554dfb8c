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


def agenda_lock(served: str) -> str:
    """One agenda drain at a time among the processes serving the same tenants (`served`: their digest)."""
    return f"{PREFIX}:lock:agenda:{served}"


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


def form_questions(conversation: str) -> str:
    """Forms this conversation was asked about and has not answered: token -> the form's lead."""
    return f"{PREFIX}:form-questions:{conversation}"


def vk_lookups(tenant: str) -> str:
    """VK screen names a tenant's forms had looked up this minute."""
    return f"{PREFIX}:vk-lookups:{tenant}"


def login_failures(tenant: str, address: str) -> str:
    """Wrong owner passwords from an address for a tenant in the current window."""
    return f"{PREFIX}:login-failures:{tenant}:{address}"


def form_budget(tenant: str, address: str) -> str:
    """Forms an address posted to a tenant this minute."""
    return f"{PREFIX}:forms:{tenant}:{address}"


def facts_lock() -> str:
    return f"{PREFIX}:lock:facts"


# ---- Bitrix24 app mode: the client's chat in an Open Line -----------------------------------------
def chat_log(conversation: str) -> str:
    """What the client and the bot said, in order, for the Open Line's chat (app mode); as long as the
    conversation."""
    return f"{PREFIX}:chat:{conversation}"


def chat_logged(conversation: str) -> str:
    """The keys already in the chat log: a retried message or send is logged once."""
    return f"{PREFIX}:chat:keys:{conversation}"


def chat_mirrored(conversation: str) -> str:
    """How many chat log entries the Open Line has taken."""
    return f"{PREFIX}:chat:posted:{conversation}"


def chat_lock(conversation: str) -> str:
    return f"{PREFIX}:lock:chat:{conversation}"


def echo(conversation: str, digest: str) -> str:
    """A bot message the gateway put in the line: if Bitrix24 hands it back as a manager's, it is not sent."""
    return f"{PREFIX}:echo:{conversation}:{digest}"


ECHO_SECONDS = 600


def manager_holds(conversation: str) -> str:
    """Present while a manager leads the conversation: the bot does not answer (expires after quiet_for)."""
    return f"{PREFIX}:manager:{conversation}"


def manager_sent(tenant: str, message_id: int) -> str:
    """A manager's message (Bitrix24's id) delivered to the client: never sent twice."""
    return f"{PREFIX}:manager:sent:{tenant}:{message_id}"


MANAGER_SENT_SECONDS = 30 * 24 * 3600


def app_renewal_lock(tenant: str) -> str:
    """One renewal of a tenant's app tokens at a time, across replicas (each renewal spends the old one)."""
    return f"{PREFIX}:lock:b24app:{tenant}"


def line_chat(tenant: str, im_chat_id: int) -> str:
    """The conversation a line's chat (Bitrix24's chat id) holds: a finished dialog names only that chat."""
    return f"{PREFIX}:linechat:{tenant}:{im_chat_id}"


def handoff(conversation: str) -> str:
    """The open hand-off to-do of a conversation (its id, since when, and when due), until a manager answers."""
    return f"{PREFIX}:handoff:{conversation}"


def handoff_waiting(conversation: str) -> str:
    """A hand-off whose deal was not made yet (when it was handed): the sync that makes the deal opens it."""
    return f"{PREFIX}:handoff-waiting:{conversation}"


def open_chats(tenant: str) -> str:
    """The tenant's line chats by their last activity (ms): those reconciled against lost events."""
    return f"{PREFIX}:openchats:{tenant}"


def chat_client_user(tenant: str, im_chat_id: int) -> str:
    """The portal's user id of the client in a line chat: their messages are not a manager's."""
    return f"{PREFIX}:linechat:client:{tenant}:{im_chat_id}"


def chat_examined(tenant: str, im_chat_id: int) -> str:
    """The newest message id of a line chat the reconciliation has looked at."""
    return f"{PREFIX}:linechat:seen:{tenant}:{im_chat_id}"


def provider_message(tenant: str, message_id: str) -> str:
    """A message Bitrix24 sent through the app's provider (a robot's), once claimed: never sent twice."""
    return f"{PREFIX}:b24sms:{tenant}:{message_id}"


def provider_held(tenant: str) -> str:
    """Provider messages that arrived in quiet hours, by the moment they may go (unix seconds)."""
    return f"{PREFIX}:b24sms:held:{tenant}"


def review_awaits(conversation: str) -> str:
    """The visit whose low rating the bot asked «что пошло не так?» about: the client's next words answer it."""
    return f"{PREFIX}:review-awaits:{conversation}"


def review_lock(visit_id: int) -> str:
    """One job at a time makes or fills a rating's to-do."""
    return f"{PREFIX}:review-lock:{visit_id}"


def recommendations(tenant: str) -> str:
    """The service pairs mined from the tenant's visits (JSON), replaced at each daily mining."""
    return f"{PREFIX}:recommendations:{tenant}"


def recommendations_mined(tenant: str) -> str:
    """Set for a day after a mining: the next waits for it to expire."""
    return f"{PREFIX}:recommendations-mined:{tenant}"

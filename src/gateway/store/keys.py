"""Redis key names, in one place so every process agrees on them."""

PREFIX = "lg"


def dedupe(tenant: str, channel: str, key: str) -> str:
    return f"{PREFIX}:seen:{tenant}:{channel}:{key}"


def dialogue(conversation: str) -> str:
    return f"{PREFIX}:conv:{conversation}"


def crm_link(conversation: str) -> str:
    return f"{PREFIX}:crm:{conversation}"


def timeline(conversation: str) -> str:
    return f"{PREFIX}:tl:{conversation}"


def conversation_lock(conversation: str) -> str:
    return f"{PREFIX}:lock:conv:{conversation}"


def crm_lock(conversation: str) -> str:
    return f"{PREFIX}:lock:crm:{conversation}"


def person_contact(tenant: str, channel: str, sender_id: str) -> str:
    return f"{PREFIX}:person:{tenant}:{channel}:{sender_id}"


def deal_conversation(tenant: str, deal_id: int) -> str:
    return f"{PREFIX}:deal:{tenant}:{deal_id}"


def llm_budget(conversation: str) -> str:
    return f"{PREFIX}:llm:{conversation}"


def reply_budget(conversation: str) -> str:
    return f"{PREFIX}:replies:{conversation}"


def bitrix_bucket(portal: str) -> str:
    return f"{PREFIX}:bucket:{portal}"


DEAD_LETTERS = f"{PREFIX}:dlq"
WORKER_HEARTBEAT = f"{PREFIX}:worker:heartbeat"
HEALTH = f"{PREFIX}:health"

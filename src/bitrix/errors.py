"""Bitrix24 REST errors, classified by what a caller should do about them.

BitrixError
 +- BitrixRetryable        try again later (5xx, non-JSON body, timeout, transport failure)
 |   +- QueryLimitExceeded     503 QUERY_LIMIT_EXCEEDED: the portal's leaky bucket is full
 |   +- OperationTimeLimit     429 OPERATION_TIME_LIMIT: this method is paused until reset_at
 +- BitrixAuthError        401/403: the webhook is wrong, expired or lacks scope; retrying won't help
 +- BitrixRequestError     4xx: the request itself is wrong (including the empty-code 400)
"""

from __future__ import annotations


class BitrixError(Exception):
    def __init__(self, code: str, description: str, status: int | None = None) -> None:
        super().__init__(f"{code or '<empty code>'}: {description}" + (f" (HTTP {status})" if status else ""))
        self.code = code
        self.description = description
        self.status = status


class BitrixRetryable(BitrixError):
    """The outcome is unknown or temporary: the same call may succeed later."""


class QueryLimitExceeded(BitrixRetryable):
    pass


class OperationTimeLimit(BitrixRetryable):
    def __init__(self, code: str, description: str, status: int | None, reset_at: float | None) -> None:
        super().__init__(code, description, status)
        self.reset_at = reset_at


class BitrixAuthError(BitrixError):
    pass


class BitrixRequestError(BitrixError):
    pass


AUTH_CODES = frozenset(
    {
        "NO_AUTH_FOUND",
        "INVALID_CREDENTIALS",
        "insufficient_scope",
        "expired_token",
        "user_access_error",
        "PORTAL_DELETED",
        "WRONG_AUTH_TYPE",
    }
)


def classify(status: int, code: str, description: str, reset_at: float | None = None) -> BitrixError:
    """Map an error envelope (or a batch's result_error entry, status 200) to its class."""
    if code == "QUERY_LIMIT_EXCEEDED":
        return QueryLimitExceeded(code, description, status)
    if code == "OPERATION_TIME_LIMIT":
        return OperationTimeLimit(code, description, status, reset_at)
    if code in AUTH_CODES or (status in (401, 403) and code != "ACCESS_DENIED"):
        return BitrixAuthError(code, description, status)
    if code == "ACCESS_DENIED" and "commercial" in description.lower():
        return BitrixAuthError(code, description, status)
    if status >= 500 or code in ("INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER", "OVERLOAD_LIMIT"):
        return BitrixRetryable(code, description, status)
    return BitrixRequestError(code, description, status)

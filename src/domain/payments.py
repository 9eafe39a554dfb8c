"""A payment provider as the gateway needs one for deposits: make a payment with a link the client opens,
and read a payment back. YooKassa implements it first; T-Bank or CloudPayments would be one more module."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class PaymentStatus(StrEnum):
    PENDING = "pending"  # made, not paid yet
    WAITING = "waiting_for_capture"  # paid and held (two-stage payments; deposits capture at once)
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"  # declined, expired or cancelled: it will never be paid


@dataclass(frozen=True)
class PaymentRequest:
    key: str  # the idempotence key: the same request sent again makes no second payment
    kopecks: int
    description: str  # what the client and the owner see (at most 128 characters)
    return_url: str  # where the client lands after paying
    metadata: dict[str, str]  # ours, handed back with the payment: the tenant and the visit
    receipt_item: str  # the 54-FZ receipt's line: the service paid in advance
    customer_phone: str | None  # digits with the country code; the receipt goes to it
    full_price: bool = False  # the deposit is the whole price (full prepayment), else a part of it


@dataclass(frozen=True)
class Payment:
    id: str
    status: PaymentStatus
    kopecks: int
    confirmation_url: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def paid(self) -> bool:
        return self.status == PaymentStatus.SUCCEEDED


class PaymentError(Exception):
    """The provider refused the request for good (bad credentials, a bad request)."""


class PaymentRetryable(Exception):
    """The provider could not answer now (down, rate limit, a timeout): the same request may be sent again."""


class PaymentProvider(Protocol):
    async def create(self, request: PaymentRequest) -> Payment: ...

    async def get(self, payment_id: str) -> Payment | None:
        """The payment as the provider has it; None if it has no such payment (a forged id)."""
        ...


def rubles(kopecks: int) -> str:
    """An amount as payment APIs write it: 500.00."""
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def kopecks_of(value: str) -> int:
    """500.00 (or 500, 500.5) as kopecks; ValueError for anything else."""
    whole, _, part = value.strip().partition(".")
    if not whole.isdecimal() or (part and not part.isdecimal()) or len(part) > 2:
        raise ValueError(f"not an amount: {value!r}")
    return int(whole) * 100 + int(part.ljust(2, "0") or 0)

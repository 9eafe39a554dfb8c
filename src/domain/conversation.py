"""What a client wants and what the bot still has to ask for."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Intent(StrEnum):
    BOOKING = "booking"
    PRICE = "price"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    HUMAN = "human"  # asks for a person («позовите администратора»): the bot hands over
    OTHER = "other"


Slot = Literal["service", "time", "phone"]
SLOTS: tuple[Slot, ...] = ("service", "time", "phone")

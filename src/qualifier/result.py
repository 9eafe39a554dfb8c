"""What the qualifier extracted from one message."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Slot = Literal["service", "time", "phone"]
SLOTS: tuple[Slot, ...] = ("service", "time", "phone")


class Extraction(BaseModel):
    model_config = ConfigDict(frozen=True)

    service_ids: tuple[str, ...] = ()
    time_start: datetime | None = None
    time_end: datetime | None = None
    phone: str | None = None
    name: str | None = None
    intent: str = "other"
    source: Literal["rules", "llm"] = "rules"

    @property
    def service_id(self) -> str | None:
        return self.service_ids[0] if self.service_ids else None

    def missing(self) -> list[Slot]:
        have = {"service": bool(self.service_ids), "time": self.time_start is not None, "phone": bool(self.phone)}
        return [slot for slot in SLOTS if not have[slot]]

"""What the qualifier extracted from one message."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain import SLOTS, Intent, Slot


class Extraction(BaseModel):
    model_config = ConfigDict(frozen=True)

    service_ids: tuple[str, ...] = ()
    time_start: datetime | None = None
    time_end: datetime | None = None
    no_such_date: bool = False  # a date was named that does not exist ("31 февраля")
    phone: str | None = None
    name: str | None = None
    intent: Intent = Intent.OTHER
    source: Literal["rules", "llm"] = "rules"

    @property
    def service_id(self) -> str | None:
        return self.service_ids[0] if self.service_ids else None

    def missing(self) -> list[Slot]:
        have = {"service": bool(self.service_ids), "time": self.time_start is not None, "phone": bool(self.phone)}
        return [slot for slot in SLOTS if not have[slot]]

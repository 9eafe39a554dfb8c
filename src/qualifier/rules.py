"""The deterministic extractors run together: fast, free, on every message."""

from __future__ import annotations

from datetime import datetime

from domain import WeekHours
from qualifier.catalog import ServiceMatcher
from qualifier.intent import find_intent
from qualifier.names import find_name
from qualifier.phone import find_phones
from qualifier.result import Extraction
from qualifier.when import parse_time


class RuleQualifier:
    def __init__(self, matcher: ServiceMatcher, hours: WeekHours) -> None:
        self.matcher = matcher
        self.hours = hours

    def extract(self, text: str, now: datetime) -> Extraction:
        phones = find_phones(text)
        services = self.matcher.find(text)
        slot = parse_time(text, now, self.hours)
        return Extraction(
            service_ids=tuple(s.id for s in services),
            time_start=slot.start if slot and not slot.no_such_date else None,
            time_end=slot.end if slot and not slot.no_such_date else None,
            no_such_date=bool(slot and slot.no_such_date),
            phone=phones[0] if phones else None,
            name=find_name(text),
            intent=find_intent(text, has_service=bool(services), has_time=slot is not None),
        )

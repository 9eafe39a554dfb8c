"""The rules on the labelled set stay above the issue's targets (accuracy, not speed: `make bench` times)."""

from __future__ import annotations

import json
from datetime import datetime

from gateway.settings import load_config
from qualifier.catalog import ServiceMatcher
from qualifier.rules import RuleQualifier
from tests.conftest import ROOT


def test_rule_accuracy_on_the_labelled_set_meets_the_targets():
    config = load_config(ROOT / "bench/tenants.yaml", {})
    rules = {tid: RuleQualifier(ServiceMatcher(t.services()), t.opening_hours()) for tid, t in config.tenants.items()}
    rows = [json.loads(line) for line in (ROOT / "tests/data/qualifier_ru.jsonl").read_text().splitlines()]
    assert len(rows) >= 300
    hits = {"service": 0, "time": 0, "phone": 0}
    for row in rows:
        found = rules[row["tenant"]].extract(row["text"], datetime.fromisoformat(row["now"]))
        hits["service"] += sorted(found.service_ids) == sorted(row["service_ids"])
        start = found.time_start.isoformat() if found.time_start else None
        end = found.time_end.isoformat() if found.time_end else None
        hits["time"] += (start, end) == (row["time_start"], row["time_end"])
        hits["phone"] += found.phone == row["phone"]
    shares = {field: count / len(rows) for field, count in hits.items()}
    assert shares["service"] >= 0.90 and shares["time"] >= 0.90 and shares["phone"] >= 0.99, shares

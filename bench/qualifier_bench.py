"""Rule qualifier on the labelled set: per-field accuracy, the share handled with no LLM call, time a message.

python bench/qualifier_bench.py [--data tests/data/qualifier_ru.jsonl] [--config bench/tenants.yaml] [--errors]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from pathlib import Path

from gateway.settings import load_config
from qualifier.catalog import ServiceMatcher
from qualifier.gate import needs_llm
from qualifier.result import Extraction
from qualifier.rules import RuleQualifier

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("service", "time", "phone", "intent")
TARGETS = {"service": 0.90, "time": 0.90, "phone": 0.99}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def compare(found: Extraction, label: dict[str, object]) -> dict[str, bool]:
    return {
        "service": sorted(found.service_ids) == sorted(label["service_ids"]),  # type: ignore[arg-type]
        "time": (_iso(found.time_start), _iso(found.time_end)) == (label["time_start"], label["time_end"]),
        "phone": found.phone == label["phone"],
        "intent": found.intent == label["intent"],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT / "tests/data/qualifier_ru.jsonl"))
    parser.add_argument("--config", default=str(ROOT / "bench/tenants.yaml"))
    parser.add_argument("--errors", action="store_true", help="print every message a field got wrong")
    args = parser.parse_args()
    config = load_config(Path(args.config))
    qualifiers = {
        tid: RuleQualifier(ServiceMatcher(t.services()), t.opening_hours()) for tid, t in config.tenants.items()
    }
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows[:20]:  # warm the dictionaries and caches before timing
        qualifiers[row["tenant"]].extract(row["text"], datetime.fromisoformat(row["now"]))
    correct = dict.fromkeys(FIELDS, 0)
    no_llm = 0
    timings: list[float] = []
    for row in rows:
        now = datetime.fromisoformat(row["now"])
        started = time.perf_counter()
        found = qualifiers[row["tenant"]].extract(row["text"], now)
        timings.append((time.perf_counter() - started) * 1000)
        no_llm += not needs_llm(row["text"], found)
        verdict = compare(found, row)
        for field, ok in verdict.items():
            correct[field] += ok
        if args.errors and not all(verdict.values()):
            wrong = [f for f, ok in verdict.items() if not ok]
            print(f"[{row['tenant']}] {row['text']}")
            for field in wrong:
                got = {
                    "service": list(found.service_ids),
                    "time": (_iso(found.time_start), _iso(found.time_end)),
                    "phone": found.phone,
                    "intent": found.intent,
                }[field]
                want = {
                    "service": row["service_ids"],
                    "time": (row["time_start"], row["time_end"]),
                    "phone": row["phone"],
                    "intent": row["intent"],
                }[field]
                print(f"    {field}: got {got} want {want}")
    total = len(rows)
    print(f"qualifier, rules only: {total} labelled messages ({args.data})")
    for field in FIELDS:
        share = correct[field] / total
        target = TARGETS.get(field)
        note = f"   target {target:.2f} {'met' if share >= target else 'NOT met'}" if target else ""
        print(f"  {field:<8} {share:6.3f}  ({correct[field]}/{total}){note}")
    ordered = sorted(timings)
    print(f"  handled with no LLM call: {no_llm / total:.3f} ({no_llm}/{total})")
    print(
        f"  time a message: mean {statistics.mean(timings):.2f} ms, p50 {ordered[total // 2]:.2f} ms, "
        f"p99 {ordered[int(total * 0.99) - 1]:.2f} ms   target < 5 ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Russian date and time expressions -> an aware start (and an end for vague ones).

Resolved against `now` in the tenant's time zone and its opening hours: "в 3" in a salon open
10-21 is 15:00; "завтра" alone is tomorrow's opening hours; "вечером" is 17:00 to closing.
Every mention is found with its position; a message that moves an appointment ("перенесите с
четверга на пятницу") means the last one, any other the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from domain import OpenHours, WeekHours
from qualifier.time_words import CHANGE, MONTHS, NUMBERS, ORDINALS, PARTS, UNIT, WEEKDAY_SHORT, WEEKDAYS

_NUMWORD = "|".join(sorted(NUMBERS, key=len, reverse=True))
_MONTH_WORD = r"(январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр)[а-я]*"
_SUFFIX = r"(?: ?(утра|дня|вечера|ночи))?"


@dataclass(frozen=True)
class TimeSlot:
    start: datetime
    end: datetime | None = None
    no_such_date: bool = False  # "31 февраля": a date was named, and there is none such


NO_SUCH_DATE = date.min  # what `_dated` gives for a day and month that do not exist


@dataclass(frozen=True)
class _Day:
    pos: int
    day: date
    last: date | None = None  # the last day of a range (weekend, next week)
    no_such_date: bool = False


@dataclass(frozen=True)
class _Clock:
    pos: int
    hour: int
    minute: int
    explicit: bool  # no am/pm guess needed
    weak: bool = False  # "до 18:00": a limit the client has, rarely the time they want


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("ё", "е"))


def _looks_like_clock(hour: str, minute: str) -> bool:
    return minute in ("00", "15", "30", "45") and int(hour) <= 23


def _dated(today: date, day: int, month: int, year: str | None) -> date | None:
    y = int(year) + (2000 if len(year) == 2 else 0) if year else today.year
    if not (1 <= month <= 12 and 1 <= day <= 31 and 2000 <= y <= 2100):
        return None  # not a date at all ("16.70" is something else)
    try:
        found = date(y, month, day)
    except ValueError:
        return NO_SUCH_DATE  # 31.02, 31 апреля: named as a date, and there is none
    if not year and found < today:
        found = found.replace(year=y + 1)
        if found - today > timedelta(days=180):
            return None  # a day already past ("был у вас 10.11"), not one a year ahead
    return found


def _relative_days(text: str, today: date) -> list[_Day]:
    offsets = {"позавчера": -2, "вчера": -1, "сегодня": 0, "завтра": 1, "послезавтра": 2}
    hits = [
        _Day(m.start(), today + timedelta(days=offsets[m.group(1)]))
        for m in re.finditer(r"\b(позавчера|вчера|послезавтра|завтра|сегодня)\b", text)
    ]
    units = {"дн": 1, "ден": 1, "недел": 7, "месяц": 30, "год": 365, "лет": 365}
    for m in re.finditer(
        r"\bчерез (\d+|один|два|три|четыре|пять|шесть|семь|пару)? ?(дн|ден|недел|месяц|год|лет)", text
    ):
        count = m.group(1) or "1"
        n = int(count) if count.isdigit() else {"один": 1, "пару": 2}.get(count) or NUMBERS.get(count, 1)
        days = min(n, 100) * units[m.group(2)]
        hits.append(_Day(m.start(), today + timedelta(days=days)))
    return hits


# 25.11, 25.11.2026, 25/11: day, separator, month, year
_WRITTEN_DATE = re.compile(r"(?<![\d.:/])(\d{1,2})([./])(\d{1,2})(?:[./](\d{4}|\d{2}))?(?![\d:])(?![./]\d)")


def _numeric_dates(text: str, today: date) -> list[_Day]:
    hits: list[_Day] = []
    for m in _WRITTEN_DATE.finditer(text):
        day, separator, month, year = m.groups()
        if separator == "." and not year and _looks_like_clock(day, month):
            continue  # "в 16.00" is a time
        if len(month) == 1 and not re.search(r"\b(на|к|с|до|по|в) $", text[max(0, m.start() - 3) : m.start()]):
            continue  # "6.5" alone is a decimal number
        found = _dated(today, int(day), int(month), year)
        if found:
            hits.append(_Day(m.start(), today, no_such_date=True) if found == NO_SUCH_DATE else _Day(m.start(), found))
    for m in re.finditer(rf"\b(\d{{1,2}})(?:-?го|-?ое|-?е)? {_MONTH_WORD}", text):
        word = m.group(2)
        month = 5 if word.startswith("ма") and not word.startswith("март") else MONTHS[word]
        found = _dated(today, int(m.group(1)), month, None)
        if found:
            hits.append(_Day(m.start(), today, no_such_date=True) if found == NO_SUCH_DATE else _Day(m.start(), found))
    for m in re.finditer(r"\b(\d{1,2})(?:-?го|-?ое|-?е)? числ", text):
        found = _dated(today, int(m.group(1)), today.month, None)
        if found and found != NO_SUCH_DATE and found.year > today.year:  # "27 число" past this month: next month
            found = _dated(today, int(m.group(1)), today.month % 12 + 1, None)
        if found and found != NO_SUCH_DATE:
            hits.append(_Day(m.start(), found))
    for m in re.finditer(rf"\b(?:на |в |к )(\d{{1,2}})-?(?:го|ое|е)\b(?! {_MONTH_WORD})", text):
        found = _dated(today, int(m.group(1)), today.month, None)
        if found and found != NO_SUCH_DATE and found.month == today.month:
            hits.append(_Day(m.start(), found))
    return hits


def _week_ranges(text: str, today: date) -> list[_Day]:
    monday = today + timedelta(days=7 - today.weekday())
    hits: list[_Day] = []
    for m in re.finditer(r"\bв начале следующей недели\b", text):
        hits.append(_Day(m.start(), monday, monday + timedelta(days=2)))
    if not hits:
        for m in re.finditer(r"\b(на|в) следующ(ей|ую) недел[еюи]\b|\bследующая неделя\b", text):
            hits.append(_Day(m.start(), monday, monday + timedelta(days=6)))
    for m in re.finditer(r"\bна этой неделе\b", text):
        hits.append(_Day(m.start(), today, monday - timedelta(days=1)))
    for m in re.finditer(r"\bна (этих )?выходных\b|\bв (эти )?выходные\b|\bна выходные\b", text):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        hits.append(_Day(m.start(), saturday, saturday + timedelta(days=1)))
    return hits


_WEEKDAY = re.compile(
    r"\b(в |во |на |к |до |с |по |со |эт[уот] )?"
    r"(понедельник[а-я]*|вторник[а-я]*|сред(?:а|у|ы|ам|ах)\b|четверг[а-я]*|пятниц[а-я]*|суббот[а-я]*"
    r"|воскресень[а-я]*|пн|вт|ср|чт|пт|сб|вс)\b"
)


def _weekdays(text: str, today: date) -> list[_Day]:
    hits: list[_Day] = []
    for m in _WEEKDAY.finditer(text):
        word = m.group(2)
        if len(word) == 2:
            if not m.group(1):
                continue  # a bare "вс" or "ср" is too ambiguous
            weekday = WEEKDAY_SHORT[word]
        else:
            weekday = next(i for i, stem in enumerate(WEEKDAYS) if word.startswith(stem))
        ahead = (weekday - today.weekday()) % 7
        if ahead == 0 or "следующ" in text[max(0, m.start() - 12) : m.start()]:
            ahead = ahead or 7
        hits.append(_Day(m.start(), today + timedelta(days=ahead)))
    return hits


def _find_day(text: str, today: date, last: bool) -> _Day | None:
    # A written date is the most precise: "в субботу 28.11" is the 28th whatever Saturday is next.
    hits = _numeric_dates(text, today) or [
        *_relative_days(text, today),
        *_week_ranges(text, today),
        *_weekdays(text, today),
    ]
    if not hits:
        return None
    ranked = sorted(hits, key=lambda h: h.pos)
    return ranked[-1] if last else ranked[0]


def _clock_hit(text: str, pos: int, hour: int, minute: int, explicit: bool, suffix: str | None) -> _Clock | None:
    """A reading of the words at `pos` as a time of day, or None when they mean something else."""
    if hour > 23 or minute > 59:
        return None
    if re.search(r"мин\w* (на|в|через) ?$", text[max(0, pos - 12) : pos]):
        return None  # "минут на 10": a delay, not a time
    nearby = text[max(0, pos - 12) : pos + 16]
    if re.search(r"позже|раньше", nearby) and re.search(r"\bна час\b|\bчас\b", nearby):
        return None  # "на час позже": a shift, not a time
    if suffix in ("дня", "вечера") and hour < 12:
        hour, explicit = hour + 12, True
    elif suffix in ("утра", "ночи"):
        explicit = True
    weak = bool(re.search(r"\bдо $", text[max(0, pos - 3) : pos]))
    return _Clock(pos, hour, minute, explicit, weak)


def _written_clocks(text: str) -> Iterator[_Clock | None]:
    """15:30, 16.00, "19 00" after a preposition."""
    for m in re.finditer(rf"(?<![\d.])(\d{{1,2}})(:|\.| )(\d{{2}})\b(?![.:]\d){_SUFFIX}", text):
        separator = m.group(2)
        if separator != ":" and not _looks_like_clock(m.group(1), m.group(3)):
            continue
        if separator == " " and not re.search(r"\b(в|на|к|с|до) $", text[max(0, m.start() - 3) : m.start()]):
            continue  # "19 00" only after a preposition; otherwise digits of a phone or a price
        hour = int(m.group(1))
        explicit = hour >= 13 or hour == 0 or m.group(1).startswith("0")
        yield _clock_hit(text, m.start(), hour, int(m.group(3)), explicit, m.group(4))


def _spoken_clocks(text: str) -> Iterator[_Clock | None]:
    """ "в 3", "часа в три", "к 10 утра", "15 часов", "в полдень", "на час дня"."""
    prepositional = (
        rf"\b(?:в|к|на|около|часа в|часов в|часам к|с|до|где-то в|примерно в|в районе) ?(\d{{1,2}}|{_NUMWORD})\b"
    )
    for m in re.finditer(rf"{prepositional}(?: ?(?:час(?:а|ов)?|ч)\b)?{UNIT}{_SUFFIX}", text):
        if m.group(1) == "час" and not m.group(2) and not re.search(r"\bв час\b", m.group(0)):
            continue  # "на час" alone is a duration
        yield _clock_hit(text, m.start(1), _number(m.group(1)), 0, _number(m.group(1)) >= 13, m.group(2))
    for m in re.finditer(rf"\b(\d{{1,2}}) ?(?:час(?:а|ов)?|ч)\b{_SUFFIX}", text):
        if not re.search(r"через $", text[max(0, m.start() - 6) : m.start()]):
            yield _clock_hit(text, m.start(1), int(m.group(1)), 0, int(m.group(1)) >= 13, m.group(2))
    for m in re.finditer(rf"\bпол-?({'|'.join(ORDINALS)})\b", text):
        yield _clock_hit(text, m.start(), ORDINALS.index(m.group(1)) or 12, 30, False, None)
    for m in re.finditer(r"\b(?:в|на|к|с) (\d{1,2})-(\d{2})\b(?! ?час)", text):
        if int(m.group(2)) < 60:
            yield _clock_hit(text, m.start(1), int(m.group(1)), int(m.group(2)), int(m.group(1)) >= 13, None)
    for m in re.finditer(r"\bв полдень\b", text):
        yield _clock_hit(text, m.start(), 12, 0, True, None)
    for m in re.finditer(r"\b(?:в|на|к) час дня\b", text):
        yield _clock_hit(text, m.start(), 13, 0, True, None)


def _clocks(text: str, skip: list[tuple[int, int]]) -> list[_Clock]:
    found = [*_written_clocks(text), *_spoken_clocks(text)]
    return [hit for hit in found if hit is not None and not any(a <= hit.pos < b for a, b in skip)]


def _number(token: str) -> int:
    return int(token) if token.isdigit() else NUMBERS[token]


def _find_clock(text: str, skip: list[tuple[int, int]], last: bool) -> _Clock | None:
    hits = _clocks(text, skip)
    strong = [h for h in hits if not h.weak] or hits
    if not strong:
        return None
    # Several patterns can read the same words ("в 3 часа дня"): keep the most explicit reading there.
    by_pos: dict[int, _Clock] = {}
    for hit in sorted(strong, key=lambda h: (h.pos, not h.explicit)):
        by_pos.setdefault(hit.pos, hit)
    ordered = sorted(by_pos.values(), key=lambda h: h.pos)
    return ordered[-1] if last else ordered[0]


def _after(text: str) -> tuple[int, tuple[int, int] | None]:
    """("после 6" -> 6 / "после 7 вечера" -> 19) and the span to keep out of the clock search."""
    m = re.search(rf"\bпосле (\d{{1,2}}|{_NUMWORD})\b(?:[:.](00))?{UNIT}{_SUFFIX}(?! ?(?:дн|недел))", text)
    if not m or m.group(1) == "час" or re.search(r"звон\w*,? $", text[max(0, m.start() - 14) : m.start()]):
        return -1, m.span() if m else None
    hour = _number(m.group(1))
    if m.group(3) in ("дня", "вечера") and hour < 12:
        hour += 12
    return hour, m.span()


def _hour_range(text: str) -> tuple[int, int] | None:
    """ "в районе 14-15 часов", "с 12 до 14": a window, start and end."""
    m = re.search(r"\b(?:в районе|около|примерно|между|с) ?(\d{1,2}) ?(?:-|–|—|до|и) ?(\d{1,2}) ?(?:час|ч\b)", text)
    m = m or re.search(
        r"\bс (\d{1,2})(?::00)? до (\d{1,2})(?::00)?\b(?! ?(?:мин|недел|месяц|числ|лет|год|руб|р\b|%))", text
    )
    if not m or not int(m.group(1)) < int(m.group(2)) <= 24:
        return None
    return int(m.group(1)), int(m.group(2))


def _in_hours(hour: int, minute: int, opened: OpenHours | None) -> bool:
    if opened is None:
        return False
    return opened[0] <= time(hour, minute) < opened[1]


def _pick_hour(hour: int, minute: int, explicit: bool, opened: OpenHours | None) -> int:
    if explicit or hour >= 12:
        return hour
    if not _in_hours(hour, minute, opened) and _in_hours(hour + 12, minute, opened):
        return hour + 12
    if opened is None and 1 <= hour <= 8:
        return hour + 12
    return hour


def _last_open_day(first: date, last: date, hours: WeekHours) -> date:
    day = last
    while day > first and hours[day.weekday()] is None:
        day -= timedelta(days=1)
    return day


def _shift(text: str, now: datetime) -> TimeSlot | None:
    m = re.search(r"\bчерез (полчаса|час|(\d+|пару|два|три|четыре|пять) час|(\d+) мин)", text)
    if not m:
        return None
    if m.group(3):
        delta = timedelta(minutes=int(m.group(3)))
    else:
        count = {"полчаса": 0.5, "час": 1.0}.get(m.group(1))
        if count is None:
            token = m.group(2)
            count = float(token) if token.isdigit() else {"пару": 2, "два": 2, "три": 3, "четыре": 4, "пять": 5}[token]
        delta = timedelta(hours=count)
    return TimeSlot(start=(now + delta).replace(second=0, microsecond=0))


def _in_range(
    span: tuple[int, int], base: date, opened: OpenHours | None, now: datetime, *, dated: bool
) -> TimeSlot | None:
    lo = _pick_hour(span[0], 0, False, opened)
    hi = lo + (span[1] - span[0])
    if hi > 24:
        return None
    start = datetime.combine(base, time(lo), now.tzinfo)
    if not dated and start <= now:
        start += timedelta(days=1)
    end_time = time(23, 59) if hi == 24 else time(hi)
    return TimeSlot(start=start, end=datetime.combine(start.date(), end_time, now.tzinfo))


def _at_clock(
    clock: _Clock, part: tuple[int, int] | None, base: date, opened: OpenHours | None, now: datetime, *, dated: bool
) -> TimeSlot:
    hour, minute, explicit = clock.hour, clock.minute, clock.explicit
    if part is not None and not explicit and hour < 12 and part[0] >= 12:  # "вечером в 7"
        hour, explicit = hour + 12, True
    hour = _pick_hour(hour, minute, explicit, opened)
    start = datetime.combine(base, time(hour % 24, minute), now.tzinfo)
    if not dated and start <= now:  # "в 10" said at 11:30 is tomorrow's 10
        start += timedelta(days=1)
    return TimeSlot(start=start)


def parse_time(text: str, now: datetime, hours: WeekHours) -> TimeSlot | None:
    """The time a client asks for, or None when the text names none."""
    t = _norm(text)
    shifted = _shift(t, now)
    if shifted is not None:
        return shifted
    tz, today = now.tzinfo, now.date()
    last = bool(CHANGE.search(t))
    found_day = _find_day(t, today, last)
    after, after_span = _after(t)
    clock = _find_clock(t, [*([after_span] if after_span else []), *_date_only_spans(t)], last)
    span = _hour_range(t)
    part = next(((lo, hi) for rx, lo, hi in PARTS if rx.search(t)), None)
    if found_day is None and clock is None and after < 0 and part is None and span is None:
        return None
    if found_day is not None and found_day.no_such_date:
        return TimeSlot(start=datetime.combine(today, time(0), tz), no_such_date=True)
    base = found_day.day if found_day else today
    opened = hours[base.weekday()]
    ranged = _in_range(span, base, opened, now, dated=found_day is not None) if span else None
    if ranged is not None:
        return ranged
    if clock is not None:
        return _at_clock(clock, part, base, opened, now, dated=found_day is not None)
    if after >= 0:
        hour = _pick_hour(after, 0, after >= 12, opened)
        close = opened[1] if opened else time(21)
        start = datetime.combine(base, time(hour % 24), tz)
        return TimeSlot(start=start, end=datetime.combine(base, close, tz) if close > time(hour % 24) else None)
    if part is not None:
        lo, hi = part
        open_t, close_t = opened if opened else (time(9), time(21))
        start_t = max(time(lo), open_t)
        end_t = min(time(23, 59) if hi >= 24 else time(hi), close_t)
        if found_day is None and datetime.combine(base, end_t, tz) <= now:
            base += timedelta(days=1)
        return TimeSlot(start=datetime.combine(base, start_t, tz), end=datetime.combine(base, end_t, tz))
    assert found_day is not None  # noqa: S101 - one of the five was found above
    day = found_day.day
    first_hours = hours[day.weekday()] or (time(10), time(21))
    end_day = _last_open_day(day, found_day.last, hours) if found_day.last else day
    end_hours = hours[end_day.weekday()] or first_hours
    start = datetime.combine(day, first_hours[0], tz)
    if day == today and start < now:
        start = now.replace(second=0, microsecond=0)
    return TimeSlot(start=start, end=datetime.combine(end_day, end_hours[1], tz))


def _date_only_spans(text: str) -> list[tuple[int, int]]:
    """Where dates are written (`25.11`, `25.11.2026`, `25 ноября`), so their numbers are not read as hours."""
    spans = [
        m.span()
        for m in _WRITTEN_DATE.finditer(text)
        if m.group(4) or m.group(2) == "/" or not _looks_like_clock(m.group(1), m.group(3))
    ]
    spans += [m.span() for m in re.finditer(rf"\b\d{{1,2}}(?:-?го|-?ое|-?е)? {_MONTH_WORD}", text)]
    return spans

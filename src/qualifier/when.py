"""Russian date and time expressions -> an aware start (and an end for vague ones).

Resolved against `now` in the tenant's time zone and its opening hours: "в 3" in a salon open
10-21 is 15:00; "завтра" alone is tomorrow's opening hours; "вечером" is 17:00 to closing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

OpenHours = tuple[time, time]

MONTHS = {
    "январ": 1,
    "феврал": 2,
    "март": 3,
    "апрел": 4,
    "ма": 5,
    "июн": 6,
    "июл": 7,
    "август": 8,
    "сентябр": 9,
    "октябр": 10,
    "ноябр": 11,
    "декабр": 12,
}
WEEKDAYS = {
    "понедельник": 0,
    "пн": 0,
    "вторник": 1,
    "вт": 1,
    "сред": 2,
    "ср": 2,
    "четверг": 3,
    "чт": 3,
    "пятниц": 4,
    "пт": 4,
    "суббот": 5,
    "сб": 5,
    "воскресень": 6,
    "вс": 6,
}
NUMBERS = {
    "час": 1,
    "один": 1,
    "одного": 1,
    "два": 2,
    "двух": 2,
    "три": 3,
    "трех": 3,
    "четыре": 4,
    "четырех": 4,
    "пять": 5,
    "пяти": 5,
    "шесть": 6,
    "шести": 6,
    "семь": 7,
    "семи": 7,
    "восемь": 8,
    "восьми": 8,
    "девять": 9,
    "девяти": 9,
    "десять": 10,
    "десяти": 10,
    "одиннадцать": 11,
    "одиннадцати": 11,
    "двенадцать": 12,
    "двенадцати": 12,
    "полдень": 12,
    "полдвенадцатого": 11,
}
# Parts of the day: (start, end) hours, clipped to opening hours.
PARTS = (
    (re.compile(r"\b(с утра|утром|утречком|утро)\b"), 9, 12),
    (re.compile(r"\b(после обеда|после обед[ау]|послеобеда)\b"), 13, 18),
    (re.compile(r"\b(в обед|к обеду|обед)\b"), 12, 15),
    (re.compile(r"\b(дн[её]м|днем|в течение дня|днём)\b"), 12, 17),
    (re.compile(r"\b(вечером|вечерком|вечер|под вечер)\b"), 17, 24),
)
_NUMWORD = "|".join(sorted(NUMBERS, key=len, reverse=True))


@dataclass(frozen=True)
class TimeSlot:
    start: datetime
    end: datetime | None = None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("ё", "е"))


def _day_hours(day: date, hours: list[OpenHours | None]) -> OpenHours | None:
    return hours[day.weekday()]


_CLOCK_LIKE = re.compile(r"\b(?:в|к|на|до|после|с|около) \d{1,2}\.\d{2}\b")
_DMY = re.compile(r"\b(\d{1,2})\.(\d{1,2})(?:\.(\d{2,4}))?\b")
_DAY_MONTH = re.compile(
    r"\b(\d{1,2})(?:-?го)? (январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр)"
)
_WEEKDAY = re.compile(
    r"\b(в |во |на |к |до |с )?(понедельник|вторник|сред[ау]|четверг|пятниц[ау]|суббот[ау]|воскресенье"
    r"|пн|вт|ср|чт|пт|сб|вс)\b"
)
DateRange = tuple[date | None, date | None]


def _relative_day(text: str, today: date) -> DateRange:
    for word, days in (("послезавтра", 2), ("завтра", 1), ("сегодня", 0)):
        if re.search(rf"\b{word}\b", text):
            return today + timedelta(days=days), None
    m = re.search(r"\bчерез (\d+|один|два|три|четыре|пять|шесть|семь) (дн|ден)", text)
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else NUMBERS.get(m.group(1), 1)
        return today + timedelta(days=n), None
    return None, None


def _numeric_date(text: str, today: date) -> DateRange:
    clock_spans = [m.span() for m in _CLOCK_LIKE.finditer(text)]
    for m in _DMY.finditer(text):
        if any(a <= m.start() < b for a, b in clock_spans) and not m.group(3):
            continue  # "в 16.00" is a time
        found = _dated(today, int(m.group(1)), int(m.group(2)), m.group(3))
        if found:
            return found, None
    named = _DAY_MONTH.search(text)
    if named:
        word = named.group(2)
        month = 5 if word.startswith("ма") and word != "март" else MONTHS[word]
        return _dated(today, int(named.group(1)), month, None), None
    return None, None


def _week_range(text: str, today: date) -> DateRange:
    monday = today + timedelta(days=7 - today.weekday())
    if re.search(r"\bв начале следующей недели\b", text):
        return monday, monday + timedelta(days=2)
    if re.search(r"\bна следующей неделе\b", text):
        return monday, monday + timedelta(days=6)
    if re.search(r"\bна (этих )?выходных\b|\bв (эти )?выходные\b", text):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        return saturday, saturday + timedelta(days=1)
    return None, None


def _weekday(text: str, today: date) -> DateRange:
    for m in _WEEKDAY.finditer(text):
        word = m.group(2)
        if len(word) == 2 and not m.group(1):
            continue  # a bare "вс" or "ср" is too ambiguous
        key = next(k for k in WEEKDAYS if word.startswith(k))
        ahead = (WEEKDAYS[key] - today.weekday()) % 7
        if ahead == 0 or "следующ" in text[max(0, m.start() - 12) : m.start()]:
            ahead = ahead or 7
        return today + timedelta(days=ahead), None
    return None, None


def _find_date(text: str, today: date) -> DateRange:
    """(day, last day of a range) named in the text."""
    for finder in (_relative_day, _numeric_date, _week_range, _weekday):
        day, last = finder(text, today)
        if day is not None:
            return day, last
    return None, None


def _dated(today: date, day: int, month: int, year: str | None) -> date | None:
    y = int(year) + (2000 if len(year) == 2 else 0) if year else today.year
    try:
        found = date(y, month, day)
    except ValueError:
        return None
    if not year and found < today:
        found = found.replace(year=y + 1)
    return found


def _find_clock(text: str) -> tuple[int, int, bool] | None:
    """(hour, minute, explicit) where explicit means the hour needs no am/pm guess."""
    m = re.search(r"\b(\d{1,2})[:.](\d{2})\b(?!\.\d)", text)
    if (
        m
        and int(m.group(1)) < 24
        and int(m.group(2)) < 60
        and not re.search(r"\d\.\d{2}\.", text[m.start() : m.end() + 1])
    ):
        hour = int(m.group(1))
        return hour, int(m.group(2)), hour >= 13 or hour == 0 or m.group(1).startswith("0")
    m = re.search(
        rf"\b(?:в|к|на|около|часа в|часов в|с) ?(\d{{1,2}}|{_NUMWORD})"
        rf"(?: ?(?:час(?:а|ов)?|ч\b))?(?: ?(утра|дня|вечера|ночи))?\b",
        text,
    )
    m2 = re.search(rf"\b(\d{{1,2}}|{_NUMWORD}) ?(?:час(?:а|ов)?|ч)\b(?: ?(утра|дня|вечера|ночи))?", text)
    m3 = re.search(rf"\bчас(?:а|ов)? в (\d{{1,2}}|{_NUMWORD})\b", text)
    for cand in (m3, m, m2):
        if cand is None:
            continue
        token = cand.group(1)
        hour = int(token) if token.isdigit() else NUMBERS[token]
        if hour > 23:
            continue
        suffix = cand.group(2) if cand.lastindex and cand.lastindex >= 2 else None
        if suffix in ("дня", "вечера") and hour < 12:
            return hour + 12, 0, True
        if suffix in ("утра", "ночи"):
            return hour, 0, True
        return hour, 0, hour >= 13
    return None


def _after_hour(text: str) -> int | None:
    m = re.search(rf"\bпосле (\d{{1,2}}|{_NUMWORD})\b(?! ?(?:дн|недел))", text)
    if not m:
        return None
    return int(m.group(1)) if m.group(1).isdigit() else NUMBERS[m.group(1)]


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


def parse_time(text: str, now: datetime, hours: list[OpenHours | None]) -> TimeSlot | None:
    """The time a client asks for, or None when the text names none."""
    t = _norm(text)
    tz = now.tzinfo
    today = now.date()
    m = re.search(r"\bчерез (полчаса|час|(\d+|пару|два|три|четыре|пять) час)", t)
    if m:
        n = {"полчаса": 0.5, "час": 1.0}.get(m.group(1)) or (
            float(m.group(2))
            if m.group(2).isdigit()
            else {"пару": 2, "два": 2, "три": 3, "четыре": 4, "пять": 5}[m.group(2)]
        )
        start = (now + timedelta(hours=n)).replace(second=0, microsecond=0)
        return TimeSlot(start=start)
    day, last_day = _find_date(t, today)
    clock = _find_clock(_strip_dates(t))
    after = _after_hour(t)
    part = next(((lo, hi) for rx, lo, hi in PARTS if rx.search(t)), None)
    if day is None and clock is None and after is None and part is None:
        return None
    base = day or today
    opened = _day_hours(base, hours)
    if clock is not None:
        hour, minute, explicit = clock
        if part is not None and not explicit and hour < 12 and part[0] >= 12:
            hour += 12
            explicit = True
        hour = _pick_hour(hour, minute, explicit, opened)
        start = datetime.combine(base, time(hour % 24, minute), tz)
        if day is None and start <= now:
            start += timedelta(days=1)
        return TimeSlot(start=start)
    if after is not None:
        hour = _pick_hour(after, 0, after >= 12, opened)
        close = opened[1] if opened else time(21)
        start = datetime.combine(base, time(hour % 24), tz)
        return TimeSlot(start=start, end=datetime.combine(base, close, tz) if close > time(hour % 24) else None)
    if part is not None:
        lo, hi = part
        open_t, close_t = opened if opened else (time(9), time(21))
        start_t = max(time(lo), open_t)
        end_t = min(time(23, 59) if hi >= 24 else time(hi), close_t)
        if day is None and datetime.combine(base, end_t, tz) <= now:
            base += timedelta(days=1)
        return TimeSlot(start=datetime.combine(base, start_t, tz), end=datetime.combine(base, end_t, tz))
    assert day is not None  # noqa: S101 - one of the four was found above
    first_hours = _day_hours(day, hours) or (time(10), time(21))
    end_day = last_day or day
    end_hours = _day_hours(end_day, hours) or first_hours
    start = datetime.combine(day, first_hours[0], tz)
    if day == today and start < now:
        start = now.replace(second=0, microsecond=0)
    return TimeSlot(start=start, end=datetime.combine(end_day, end_hours[1], tz))


def _strip_dates(text: str) -> str:
    """Remove `25.11`, `25.11.2026` and `25 ноября` so their numbers are not read as hours."""
    text = re.sub(r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b", " ", text)
    text = re.sub(
        r"(?<![\d:])\b\d{1,2}\.(0?[1-9]|1[0-2])\b(?![:.]\d)(?= |$|,)(?!\s*(?:час|ч\b))",
        lambda m: m.group(0) if _looks_like_clock(m.group(0)) else " ",
        text,
    )
    return re.sub(
        r"\b\d{1,2}(?:-?го)? (январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр)[а-я]*",
        " ",
        text,
    )


def _looks_like_clock(token: str) -> bool:
    hour, minute = token.split(".")
    return len(minute) == 2 and minute in ("00", "15", "30", "45") and int(hour) <= 23

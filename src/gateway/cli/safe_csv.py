"""CSV for spreadsheets: a text cell that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

# What Excel, LibreOffice and Google Sheets take as the start of a formula (OWASP's list): a UTM tag or a
# name from a public form such as `=HYPERLINK(...)` must reach the owner's sheet as the text it was.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A signed number alone (a phone in E.164, a negative amount) computes nothing: it stays as it is.
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def neutral(value: Any) -> Any:
    """The value to write: text that starts like a formula gets a leading apostrophe; numbers stay."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` whose every text cell is neutralised; used by every export the gateway writes."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutral(cell) for cell in row])

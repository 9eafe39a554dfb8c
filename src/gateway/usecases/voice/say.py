"""`say(texts, text_id, **fields)`: the one reader of a tenant's texts. It returns the words and which
variant of the wording they are (`default` today), so that an experiment can choose the wording here
without any caller changing, and what was said can be counted by variant."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings.texts import Texts

DEFAULT = "default"


@dataclass(frozen=True)
class Said:
    text: str
    variant: str = DEFAULT


class UnknownText(KeyError):
    """A text id that `Texts` does not have: a programming error, caught by the tests, never a silent ''."""


def say(texts: Texts, text_id: str, /, **fields: object) -> Said:
    """The tenant's words for `text_id`, with `fields` put in (`{service}`, `{when}`, ...)."""
    if text_id not in Texts.__dataclass_fields__:
        raise UnknownText(text_id)
    template: str = getattr(texts, text_id)
    return Said(template.format(**fields) if fields else template)

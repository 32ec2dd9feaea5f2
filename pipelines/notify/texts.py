"""The e-mails' words (texts.yaml) in any of the project's languages, English where one lacks a
text, and a message's body put together from them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

TEXTS = Path(__file__).with_name("texts.yaml")


@cache
def catalogue() -> dict[str, dict[str, dict[str, str]]]:
    """Each kind of message's parts (subject, body, ...) by language."""
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    return yaml.load(TEXTS.read_text(encoding="utf-8"), Loader=loader)


def text(kind: str, part: str, lang: str, **values: object) -> str:
    """One part of a kind of message in a language, its placeholders filled in."""
    texts = catalogue()[kind][part]
    return (texts.get(lang) or texts["en"]).format(**values)


def body(lang: str, project: str, *paragraphs: str) -> str:
    """A message's text: the greeting, its paragraphs and the footer saying who sent it."""
    footer = "-- \n" + text("mail", "footer", lang, project=project)
    return "\n\n".join([text("mail", "greeting", lang), *paragraphs, footer]) + "\n"


def listed(title: str, lines: list[str], lang: str, most: int) -> str:
    """A paragraph listing at most `most` lines under a title, and how many more there are."""
    shown = [title, *(f"- {line}" for line in lines[:most])]
    if len(lines) > most:
        shown.append(text("mail", "more", lang, count=len(lines) - most))
    return "\n".join(shown)

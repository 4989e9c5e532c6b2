"""The console's strings: one catalogue (``catalogue.json``), Simplified Chinese first."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


@dataclass(frozen=True)
class Catalogue:
    """Message key → text per language."""

    messages: dict[str, dict[str, str]]

    @classmethod
    def load(cls) -> "Catalogue":
        """Read the packaged catalogue."""
        text = (files("app.console") / "catalogue.json").read_text(encoding="utf-8")
        return cls(json.loads(text))

    def translator(self, lang: str) -> Callable[..., str]:
        """A ``t(key, **values)`` for one language; unknown keys show as themselves."""
        language = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

        def t(key: str, **values: Any) -> str:
            entry = self.messages.get(key)
            if entry is None:
                return key
            text = entry.get(language) or entry.get(DEFAULT_LANGUAGE) or key
            return text.format(**values) if values else text

        return t

    def missing(self) -> list[str]:
        """Keys lacking a text in some language (a test keeps this empty)."""
        return sorted(k for k, v in self.messages.items() if any(not v.get(x) for x in LANGUAGES))

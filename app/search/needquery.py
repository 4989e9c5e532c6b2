"""Need-length queries: a title, problem statements, and the boilerplate that says nothing.

An enterprise's need posting is a title and a paragraph: who they are, what goes wrong, the
indicators they want, and the cooperation they would accept (合作方式, 技术转让, budget, contact
details). The parts are found by rule, never fitted: sentences split on 。！？ and line breaks,
a description's sentences again on ；, clauses on ，; a clause naming cooperation, budget or
contact terms is boilerplate and dropped. The first sentence of a query is its title (the
engine's need text is "title\\ndescription", eval queries are "title。description"); a
one-sentence query (a patent title, an IPC field
title, a short free text) is its own title and has no problem statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.catalog.text import to_simplified

# Sentences end on 。！？ and line breaks; a description's sentences split again on ；into
# statements. The title is the first sentence whole: an IPC field title ("整地；农业机械的部件")
# is one sentence, so a title-like query, not a need posting.
_SENTENCE_END = re.compile(r"[。！？!?\n]+")
_STATEMENT_END = re.compile(r"[；;]+")
_CLAUSE_END = re.compile(r"[，,]")
# Simplified forms (checked on converted text): cooperation modes, money, contact, invitations.
_BOILERPLATE = re.compile(
    "合作|授权|许可|转让|移转|可洽|洽谈|欢迎|预算|万元|价格面议|联系|电话|邮箱|微信|"
    "委托|采购|购买|对接|产学|联合申报|上门指导|收徒"
)
# Statements shorter than this (in characters) are fragments, not problems.
MIN_STATEMENT = 6


@dataclass(frozen=True)
class NeedQuery:
    """A query split into its title and problem statements, boilerplate dropped."""

    title: str
    statements: tuple[str, ...]

    @property
    def text(self) -> str:
        """Title and statements as one text (the dense query, the BM25 query's body)."""
        return "。".join((self.title, *self.statements)) if self.statements else self.title

    @property
    def is_need(self) -> bool:
        """Whether the query has a description (a need posting), not just a title."""
        return bool(self.statements)

    def capped(self, most: int) -> NeedQuery:
        """The query with its first ``most`` problem statements (at least one is kept: a need
        stays a need); every statement is one more dense search per request."""
        return NeedQuery(self.title, self.statements[: max(most, 1)])

    def lexical(self, title_repeat: int) -> str:
        """Title ``title_repeat`` times (its terms weigh more), then the statements."""
        return "\n".join([self.title] * max(title_repeat, 1) + list(self.statements))


def _clean(sentence: str) -> str:
    """The sentence without its boilerplate clauses (cooperation, budget, contact)."""
    clauses = [c.strip() for c in _CLAUSE_END.split(sentence)]
    kept = [c for c in clauses if c and not _BOILERPLATE.search(to_simplified(c))]
    return "，".join(kept)


def parse_need(text: str) -> NeedQuery:
    """Split a query into title and problem statements, dropping boilerplate clauses."""
    segments = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    if not segments:
        return NeedQuery(title=text.strip(), statements=())
    title = segments[0]
    rest = [p.strip() for s in segments[1:] for p in _STATEMENT_END.split(s) if p.strip()]
    statements = tuple(s for s in (_clean(r) for r in rest) if len(s) >= MIN_STATEMENT)
    return NeedQuery(title=title, statements=statements)


def vector_texts(text: str, query: NeedQuery) -> list[str]:
    """Texts to encode for a query, in the order ``Signals`` reads them: the whole text, then
    (need postings only) the title and each problem statement."""
    return [text, query.title, *query.statements] if query.is_need else [text]


def lexical_text(text: str, query: NeedQuery, title_repeat: int) -> str:
    """The BM25 query: the raw text (``title_repeat`` 0 or not a need), else cleaned with the
    title repeated."""
    return query.lexical(title_repeat) if query.is_need and title_repeat > 0 else text

"""Text as the suggestion engine sees it: HTML stripped, English stop words out, words stemmed.

Course summaries and competency descriptions are Moodle rich text (``<p>Kurs &amp; ...</p>``):
tags are dropped and entities decoded before anything is counted, so markup never matches.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import snowballstemmer
from lxml import etree
from lxml import html as lxml_html
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_WORD = re.compile(r"[a-z][a-z0-9]+(?:[-'][a-z0-9]+)*")
_BLOCK_TAGS = re.compile(r"<(?:/?p|br|/?li|/?div|/?h[1-6])\b[^>]*>", re.IGNORECASE)
# Words that carry no meaning in a course catalogue or a competency framework.
_DOMAIN_STOP = frozenset({"course", "workshop", "introduction", "essentials", "basics",
                          "foundations", "use", "using", "make", "way", "ways", "help"})
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | _DOMAIN_STOP
SEGMENT = "\x1f"  # between texts that must not run into each other (tags)


def plain_text(text: str) -> str:
    """Rich text as words a person reads: tags stripped, entities decoded, spaces folded."""
    if "<" not in text:
        return " ".join(html.unescape(text).split())
    spaced = _BLOCK_TAGS.sub(" ", text)
    try:
        content = str(lxml_html.fromstring(f"<div>{spaced}</div>").text_content())  # type: ignore[attr-defined]
    except (etree.ParserError, ValueError):
        content = re.sub(r"<[^>]*>", " ", spaced)
    return " ".join(html.unescape(content).split())


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


@dataclass
class Analyzer:
    """Turns text into stemmed unigrams and bigrams, remembering a readable word per stem.

    Used as scikit-learn's ``analyzer``; ``surface`` maps a stem (or stem pair) back to the
    word (or phrase) most often seen for it, to show as evidence.
    """

    bigrams: bool = True
    _seen: dict[str, Counter[str]] = field(default_factory=dict)

    def words(self, text: str) -> list[tuple[str, str]]:
        """(stem, word) pairs of the content words of ``text``, in order."""
        tokens = [t.strip("'-") for t in _WORD.findall(plain_text(text).lower())]
        kept = [t for t in tokens if len(t) > 1 and t not in STOP_WORDS]
        stems = _stemmer().stemWords(kept)
        return list(zip(stems, kept, strict=True))

    def __call__(self, text: str) -> list[str]:
        terms: list[str] = []
        # Word pairs never span a SEGMENT mark: two tags side by side are not a phrase.
        for segment in text.split(SEGMENT):
            pairs = self.words(segment)
            terms += [stem for stem, _ in pairs]
            for stem, word in pairs:
                self._seen.setdefault(stem, Counter())[word] += 1
            if self.bigrams:
                for (s1, w1), (s2, w2) in pairwise(pairs):
                    term = f"{s1} {s2}"
                    terms.append(term)
                    self._seen.setdefault(term, Counter())[f"{w1} {w2}"] += 1
        return terms

    def surface(self, term: str) -> str:
        """The word or phrase most often written for a stemmed term."""
        seen = self._seen.get(term)
        return seen.most_common(1)[0][0] if seen else term

"""text_similarity's metrics, each from its well-kept library, all scaled to 0..1.

fuzzy_match: rapidfuzz's normalised Indel ratio. bleu: sacrebleu's sentence BLEU (with its default
exponential smoothing). gleu and meteor: nltk. rouge_1..rouge_5 and rouge_l: rouge-score's F-measure.
Words are Unicode word characters (`\\w+`, lower-cased), so non-Latin text scores instead of
tokenizing to nothing. METEOR uses WordNet synonyms when nltk's WordNet data is installed
(`nltk.download("wordnet")`), and exact and stem matches only when it is not: ftui never
downloads it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal, get_args

from ftui.errors import FtuiError

# The metrics text_similarity takes (OpenAI's names, and the order errors list them in).
Metric = Literal[
    "fuzzy_match",
    "bleu",
    "gleu",
    "meteor",
    "rouge_1",
    "rouge_2",
    "rouge_3",
    "rouge_4",
    "rouge_5",
    "rouge_l",
    "cosine",
]
METRICS: tuple[str, ...] = get_args(Metric)
_WORD = re.compile(r"\w+")
# Past this, texts are cut before scoring: the quadratic metrics (ROUGE-L, METEOR alignment) would
# otherwise let one runaway answer stall an evaluation.
MAX_CHARS = 20_000


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _needs(module: str) -> FtuiError:
    return FtuiError(f"the text_similarity metrics need {module}: pip install 'ftui[eval]'")


class _Words:
    """rouge-score's tokenizer interface, Unicode-aware and stemmed like its default."""

    def __init__(self) -> None:
        from nltk.stem.porter import PorterStemmer

        self.stem = PorterStemmer().stem

    def tokenize(self, text: str) -> list[str]:
        return [self.stem(w) if w.isascii() and len(w) > 3 else w for w in words(text)]


@cache
def _rouge(metric: str) -> Any:
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        raise _needs("rouge-score") from None
    key = "rougeL" if metric == "rouge_l" else f"rouge{metric[-1]}"
    return key, rouge_scorer.RougeScorer([key], tokenizer=_Words())


class _NoWordNet:
    """Stands in for WordNet in nltk's METEOR: no synonyms, so only exact and stem matches count."""

    def synsets(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


@cache
def _wordnet() -> Any:
    try:
        from nltk.corpus import wordnet

        wordnet.synsets("test")
        return wordnet
    except LookupError:
        return _NoWordNet()


def score(metric: str, output: str, reference: str) -> float:
    output, reference = output[:MAX_CHARS], reference[:MAX_CHARS]
    if metric == "fuzzy_match":
        try:
            from rapidfuzz import fuzz
        except ImportError:
            raise _needs("rapidfuzz") from None
        return fuzz.ratio(output, reference) / 100.0
    if metric == "bleu":
        try:
            import sacrebleu
        except ImportError:
            raise _needs("sacrebleu") from None
        if not output.strip() or not reference.strip():
            return float(output.strip() == reference.strip())
        return sacrebleu.sentence_bleu(output, [reference]).score / 100.0
    if metric in ("gleu", "meteor"):
        try:
            from nltk.translate.gleu_score import sentence_gleu
            from nltk.translate.meteor_score import meteor_score
        except ImportError:
            raise _needs("nltk") from None
        hyp, ref = words(output), words(reference)
        if not hyp or not ref:
            return float(hyp == ref)
        if metric == "gleu":
            return float(sentence_gleu([ref], hyp))
        return float(meteor_score([ref], hyp, wordnet=_wordnet()))
    if metric.startswith("rouge_"):
        key, scorer = _rouge(metric)
        return float(scorer.score(reference, output)[key].fmeasure)
    raise FtuiError(f"unknown evaluation_metric {metric!r}; one of {', '.join(METRICS)}")

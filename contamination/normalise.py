"""The one normalisation applied to corpus text and benchmark text alike, and the choice of n per script.

Steps: Unicode NFKC (full-width letters, digits and punctuation become their ASCII forms), lower case, option
labels removed (`A.`, `(B)`, `C)`, `D、`, `A：` standing alone) and answer markers removed (`Answer:`, `正确答案`,
`答案`: a corpus page that writes "Answer: <text>" after a question still matches question + answer), then the text is cut into units: every CJK character
is one unit and every run of letters/digits of any other script is one unit (a word); punctuation, symbols and
whitespace only separate units. So a question re-typed with other spacing, case, punctuation, line breaks or
option labelling gives the same units as the original.

n: 13 word units for Latin text (GPT-3, Brown et al. 2020, App. C, and the reports after it). For Chinese, 13
characters, chosen by measurement on the benchmarks' own question texts (bench/contamination_n.py, figures in
docs/contamination.md): the share of questions that share an n-gram with a question of another subject -- stock
phrasing a web corpus holds too, i.e. false alarms -- falls from 10.2% at n = 8 and 2.3% at n = 10 to 0.8% at
n = 13, where it levels off (0.6-0.7% up to n = 26: real duplicates), while 86.5% of the questions (median 25
characters) are still long enough to be checked (61.7% at n = 20).
"""

from __future__ import annotations

import re
import unicodedata

NORMALISATION = "nfkc-lower-nolabels-noanswer-units-v1"
N_LATIN = 13
N_CJK = 13
CJK_SHARE = 0.2  # a corpus document gets n-grams of a script when at least this share of its units is of it

_CJK_RANGES = (
    "\u3400-\u4dbf"  # CJK Unified Ideographs Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\u3040-\u30ff"  # Hiragana, Katakana (Japanese text inside Chinese corpora)
    "\U00020000-\U0002ffff"  # Extensions B-F and the supplement
)
_UNIT = re.compile(rf"[{_CJK_RANGES}]|[^\W_{_CJK_RANGES}]+")
_CJK_CHAR = re.compile(rf"[{_CJK_RANGES}]")
# an option label: a letter A-H in parentheses or with "." ")" "、" ":" after it, not preceded by a Latin letter
_LABEL = re.compile(rf"(?<![^\W_{_CJK_RANGES}])(?:\(\s*[a-h]\s*\)|[a-h]\s*[.)、:：])")


_ANSWER = re.compile(r"(?:the\s+)?(?:correct\s+)?answers?\s*:|正确答案|答案")


def normalise(text: str) -> str:
    """NFKC, lower case, answer markers and option labels removed (the string the units are cut from)."""
    return _LABEL.sub(" ", _ANSWER.sub(" ", unicodedata.normalize("NFKC", text).lower()))


def units(text: str) -> list[str]:
    """The normalised units of `text`: CJK characters one by one, other words whole."""
    return _UNIT.findall(normalise(text))


def is_cjk(unit: str) -> bool:
    return len(unit) == 1 and _CJK_CHAR.match(unit) is not None


def cjk_share(text_units: list[str]) -> float:
    if not text_units:
        return 0.0
    return sum(1 for u in text_units if is_cjk(u)) / len(text_units)


def query_n(text_units: list[str]) -> int:
    """n for a benchmark text: the CJK n when most of its units are CJK characters, else the Latin n."""
    return N_CJK if cjk_share(text_units) >= 0.5 else N_LATIN


def corpus_ns(text_units: list[str]) -> tuple[int, ...]:
    """The n-gram sizes indexed for a corpus document: each script that makes up at least `CJK_SHARE` of it."""
    share = cjk_share(text_units)
    ns = []
    if share >= CJK_SHARE:
        ns.append(N_CJK)
    if 1.0 - share >= CJK_SHARE and N_LATIN not in ns:
        ns.append(N_LATIN)
    return tuple(ns)

"""Which language a question or a passage is written in, well enough to avoid answering across
languages by accident.

The embedding model is English; a question in Arabic has nothing real to match in English
guidance, and its nearest passage may be one in yet another language (an Indonesian privacy
notice answered an Arabic question). The guess is the writing system first (Arabic, Cyrillic,
Han, ...), then, for the Latin alphabet, the share of each language's commonest function words.
No model, no download; `None` when a text is too short or mixed to tell.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

NAMES = {
    "en": "English", "id": "Indonesian", "fr": "French", "de": "German", "es": "Spanish",
    "pt": "Portuguese", "nl": "Dutch", "it": "Italian", "ar": "Arabic", "ru": "Russian",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "he": "Hebrew", "el": "Greek",
    "hi": "Hindi", "th": "Thai", "fa": "Persian",
}
# The writing system's name as Unicode spells the first word of a letter's name.
SCRIPTS = {"ARABIC": "ar", "CYRILLIC": "ru", "CJK": "zh", "HIRAGANA": "ja", "KATAKANA": "ja",
           "HANGUL": "ko", "HEBREW": "he", "GREEK": "el", "DEVANAGARI": "hi", "THAI": "th"}
FUNCTION_WORDS = {
    "en": "the of and to in is that for it with as on are be this by or we our do should what "
          "how can may not from".split(),
    "id": "yang dan di ke dari ini itu untuk dengan tidak pada adalah kami anda atau dalam akan "
          "oleh kita bagaimana apakah".split(),
    "fr": "le la les de des du et est un une que qui pour dans pas nous sur au avec ce sont "
          "comment doit".split(),
    "de": "der die das und ist nicht ein eine zu den mit von für wir auf dem sich des auch wie "
          "sollen wir".split(),
    "es": "el la los las de del y que en un una es por para con no se su al lo como debemos "
          "cómo".split(),
    "pt": "o a os as de do da e que em um uma é para com não por se na no como devemos".split(),
    "nl": "de het een en van is dat in op te niet met voor zijn wij hoe moeten er".split(),
    "it": "il la le di e che in un una è per non con del della come dobbiamo sono".split(),
}
WORD = re.compile(r"[^\W\d_]+", re.U)
MIN_WORDS = 3  # below this, another language needs twice English's count to win


def script_counts(text: str) -> Counter:
    counts: Counter = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            counts[name.split(" ")[0] if name else "OTHER"] += 1
    return counts


def detect(text: str) -> str | None:
    """A language code (see NAMES) for `text`, or None when it cannot be told."""
    counts = script_counts(text[:20_000])
    letters = sum(counts.values())
    if not letters:
        return None
    script, n = counts.most_common(1)[0]
    if n < 0.5 * letters:
        return None
    if script != "LATIN":
        code = SCRIPTS.get(script)
        if code == "ar" and re.search("[پچژگ]", text):
            return "fa"
        return code
    words = Counter(w.lower() for w in WORD.findall(text[:20_000]))
    scores = {lang: sum(words[w] for w in vocab) for lang, vocab in FUNCTION_WORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))  # ties go to English
    if not scores[best]:
        return None
    if best != "en" and scores[best] < MIN_WORDS and scores[best] < 2 * scores["en"]:
        return "en"  # a short text with a word or two that other languages share
    return best


def name(code: str | None) -> str:
    return NAMES.get(code or "", code or "an unknown language")

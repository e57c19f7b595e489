"""The feature matrix of a page's lines, computed in bulk with numpy.

One function serves training and inference (``cleaner.train`` calls it too), so a model
never sees features computed two ways. Per non-blank line: shape of the text (length,
words, punctuation, capitals, digits), how prose-like it is (terminal punctuation, density
of function words: the page's own most frequent short words, which needs no word list, and
the model's vocabulary learned from training pages), whether its words are the page's topic
(recurring in its prose), cue phrases, what the model's lexicon says of its words (see
:class:`Lexicon`), position; then context:
the same for the neighbouring lines, window averages, the line's block (paragraph), and
where the page's prose mass lies relative to the line.

Speed comes from treating the page as one array of code points: character classes by table
look-up, per-line sums by ``np.add.reduceat``, words as runs of letters and digits hashed in
bulk. Only cue phrases use regular expressions or string tests, and only on the lines whose
first word (or, for "read more", last characters) can match; a line's first and last visible
characters are found by a few vectorized steps over the lines, not a pass over every character.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from cleaner import cues
from cleaner.segment import DOM_FLAGS, Lines

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    import numpy.typing as npt

# Character classes, one bit each, looked up per code point below U+10000.
_LETTER, _DIGIT, _UPPER, _SPACE, _PUNCT, _CJK, _TERMINAL, _CLOSER = 1, 2, 4, 8, 16, 32, 64, 128
_SEPARATOR, _QUOTE, _COMMA, _BULLET, _AT, _COLON, _ELLIPSIS = 256, 512, 1024, 2048, 4096, 8192, 16384
_MORE_STRIP = 32768  # stripped from a line's end before its "more" words are read
_MORE_STRIP_CHARS = " .:>)]"
_CHARS = {
    _TERMINAL: ".!?。！？", _CLOSER: "\"'”’»)]*", _SEPARATOR: "|•·»›/", _QUOTE: "\"“”„«»‘’",
    _COMMA: ",，、", _BULLET: "-*•·▪►>–—", _AT: "@", _COLON: ":：", _ELLIPSIS: "…", _MORE_STRIP: _MORE_STRIP_CHARS,
}  # fmt: skip
# A line's features read its first READ_CHARS characters (its length column is the whole
# line's): one giant line (minified text, a 20 MB paragraph) would otherwise cost about 60
# bytes a character in per-character arrays. The longest line of our data has 50,618.
READ_CHARS = 1 << 17
_PAGE_TOP_WORDS = 20  # how many of the page's most frequent short words count as function words
_PAGE_SALT = np.int64(-7046029254386353131)  # added times the page number: keys of one page only
_SHORT_WORD = 5

_LEXICON_CLASSES = ("body", "comment", "related", "boilerplate")  # model.CLASSES (a model depends on its features)
BASE_NAMES = (
    "log_chars", "log_words", "word_len", "frac_letter", "frac_digit", "frac_upper", "frac_punct",
    "frac_space", "frac_cjk", "title_words", "short_words", "frequent_words", "vocab_words",
    "boilerplate_words", "terminal", "colon_end", "ellipsis_end", "bullet_start", "separators",
    "comment_phrase", "related_heading", "byline", "read_more", "url_or_mail", "year", "duplicate",
    "quotes", "commas", "break_before", "break_after", "block_lines", "block_index", "prose",
    "lexicon_words", *(f"lexicon_{c}" for c in _LEXICON_CLASSES),
)  # fmt: skip
_NEIGHBOURS = (-2, -1, 1, 2)
_WINDOW_NAMES = ("log_words", "terminal", "frequent_words", "prose", "separators", "boilerplate_words")
_WINDOWS = (3, 10)
_PAGE_NAMES = (
    "position", "log_from_start", "log_from_end", "prose_before", "prose_after", "log_since_comment_cue",
    "log_since_related_cue", "log_since_prose", "log_to_prose", "chars_vs_page_max",
    "page_has_breaks", "page_prose_share", "log_page_lines",
)  # fmt: skip


# Columns only the text model reads: whether a line's words are the page's topic, and a lone
# "Reply" link. The text model gains from them (dev line F1 body .842 -> .877, comment .801 ->
# .881 on our segmenter's text); retrained with them, the HTML model lost dev accuracy (body
# tokens .954 against .965: its DOM features already tell teasers and a second article
# apart). They come last, so HTML rows are the text rows' first columns.
TEXT_ONLY_NAMES = ("topic_recurs", "topic_top", "reply_link", "same_opening", "same_closing")
_TEXT_ONLY_WINDOW_NAMES = ("topic_recurs",)


def feature_names(*, text_only: bool = True) -> list[str]:
    """Names of the columns of :func:`text_features`, in order (``text_only=False``: without
    the columns only text mode reads, as in HTML mode).

    >>> feature_names()[:3]
    ['log_chars', 'log_words', 'word_len']
    """
    names = list(BASE_NAMES)
    for offset in _NEIGHBOURS:
        names += [f"{n}@{offset:+d}" for n in BASE_NAMES] + [f"exists@{offset:+d}"]
    for w in _WINDOWS:
        names += [f"{n}~{w}" for n in _WINDOW_NAMES]
    names += list(_PAGE_NAMES)
    if text_only:
        names += list(TEXT_ONLY_NAMES)
        for offset in _NEIGHBOURS:
            names += [f"{n}@{offset:+d}" for n in TEXT_ONLY_NAMES]
        for w in _WINDOWS:
            names += [f"{n}~{w}" for n in _TEXT_ONLY_WINDOW_NAMES]
    return names


# Computed once: the names are built afresh on each call.
_N_FEATURES, _N_SHARED = len(feature_names()), len(feature_names(text_only=False))


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Class bits and lower-case code point of every code point below U+10000, built on first
    use (about 30 ms: string methods classify the whole range in bulk)."""
    bmp = "".join(map(chr, range(0xD800))) + "\0" * 0x800 + "".join(map(chr, range(0xE000, 0x10000)))

    def each(test) -> np.ndarray:
        return np.fromiter(map(test, bmp), dtype=bool, count=0x10000)

    bits = np.zeros(0x10000, dtype=np.uint16)
    lower = np.arange(0x10000, dtype=np.uint32)
    is_decimal = each(str.isdecimal)  # the regex engine's \d
    is_letter = each(str.isalnum) & ~is_decimal  # the regex engine's [^\W\d_]
    bits[is_letter] |= _LETTER
    bits[is_decimal] |= _DIGIT
    bits[np.fromiter((m.start() for m in re.finditer(r"\s", bmp)), dtype=np.int64)] |= _SPACE
    bits[is_letter & each(str.isupper)] |= _UPPER
    # One-character lower cases only (a few letters lower to two characters: kept as is).
    lowered = np.fromiter((ord(c) if len(c) == 1 else -1 for c in map(str.lower, bmp)), dtype=np.int64, count=0x10000)
    take = is_letter & (lowered >= 0)
    lower[take] = lowered[take]
    rest = np.flatnonzero(bits == 0)
    category = np.array([unicodedata.category(bmp[cp])[0] for cp in rest.tolist()])
    bits[rest[category == "M"]] |= _LETTER  # combining marks belong to their word (Devanagari, Thai, ...)
    bits[rest[(category == "P") | (category == "S")]] |= _PUNCT
    for lo, hi in ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0x3040, 0x30FF)):
        bits[lo : hi + 1] |= np.where((bits[lo : hi + 1] & _LETTER) > 0, _CJK, 0).astype(np.uint16)
    bits[0xD800:0xE000] = 0
    for flag, chars in _CHARS.items():
        for ch in chars:
            bits[ord(ch)] |= flag
    return bits, lower


@lru_cache(maxsize=1)
def _bit_combinations() -> tuple[np.ndarray, np.ndarray, int]:
    """The few combinations of class bits that occur (a letter may also be upper case and
    CJK, ...): the id of each code point's combination (below U+10000), which bits each id
    holds, and the id astral code points get (punctuation), so per-line counts of every class
    come from one ``bincount`` of (line, combination) pairs."""
    bits_table, _ = _tables()
    values = np.union1d(np.unique(bits_table), [_PUNCT])
    assert len(values) <= 256  # 25 today
    # uint8: a small table stays in cache (an int64 one made the look-up several times slower).
    combination_of = np.searchsorted(values, bits_table).astype(np.uint8)
    holds = ((values[:, None] >> np.arange(16)) & 1).astype(float)
    return combination_of, holds, int(np.searchsorted(values, _PUNCT))


def _class_counts(combination: np.ndarray, line_of_char: np.ndarray, n: int) -> np.ndarray:
    """Characters of each class (column: bit number) per line, from each character's
    combination of class bits (see :func:`_classify`)."""
    _, holds, _ = _bit_combinations()
    k = len(holds)
    pair = line_of_char * k
    pair += combination
    return np.bincount(pair, minlength=n * k).reshape(n, k) @ holds


def words_of(text: str) -> list[str]:
    """Lower-cased words as the features see them: runs of letters and digits.

    >>> words_of("Don't stop-me now, 2024!")
    ['don', 't', 'stop', 'me', 'now', '2024']
    """
    return [w.lower() for w in _WORD_RUN.findall(text)]


_WORD_RUN = re.compile(r"[^\W_]+")


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _classify(cps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per code point: its class bits, its lower case, and its combination of class bits
    (:func:`_bit_combinations`)."""
    bits_table, lower_table = _tables()
    combination_table, _, astral_combination = _bit_combinations()
    # np.take with native integers: about twice as fast as indexing with the uint32 array.
    # "clip" reads astral code points as the tables' last entry; they are set right below.
    at = cps.astype(np.intp)
    bits, low = np.take(bits_table, at, mode="clip"), np.take(lower_table, at, mode="clip")
    combination = np.take(combination_table, at, mode="clip")
    astral = np.flatnonzero(cps > 0xFFFF)
    if len(astral):
        bits[astral] = _PUNCT  # emoji and other astral symbols
        low[astral] = cps[astral]
        combination[astral] = astral_combination
    return bits, low, combination


def _lines_saying(needle: str, joined: str, line_of_char: np.ndarray, n: int) -> np.ndarray:
    """How often each line holds ``needle`` (rare strings: found by the string search, not a
    pass over every character). ``joined``: the lines joined by "\\n" (one code point per
    character, as ``line_of_char`` counts them)."""
    at = [m.start() for m in re.finditer(re.escape(needle), joined)]
    return np.bincount(line_of_char[np.array(at, dtype=np.int64)], minlength=n)[:n]


def _word_spans(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    wordy = np.zeros(len(bits) + 2, dtype=bool)  # padded: every run of word characters ends
    np.greater(bits & (_LETTER | _DIGIT), 0, out=wordy[1:-1])
    edges = np.flatnonzero(wordy[1:] != wordy[:-1])  # a run's start, then its end (exclusive)
    return edges[0::2], edges[1::2]


def _skip_run(bits: np.ndarray, flag: int, start: np.ndarray, stop: np.ndarray, step: int) -> np.ndarray:
    """Per line, the position of its first character from ``start`` toward ``stop`` (``step``
    1 or -1; ``stop`` excluded) that lacks class ``flag``, or ``stop`` if none does. Runs to
    skip are short (a space, a closing quote), so a few steps over the lines settle nearly
    all of them; the lines with longer runs are then finished in one pass over what is left
    of them."""
    at = start.copy()
    todo = np.flatnonzero(at != stop)
    for _ in range(8):
        todo = todo[(bits[at[todo]] & flag) > 0]
        if len(todo) == 0:
            return at
        at[todo] += step
        todo = todo[at[todo] != stop[todo]]
    if len(todo):
        left = np.abs(stop[todo] - at[todo])  # characters left to look at, per line (at least 1)
        offsets = np.cumsum(left) - left
        walked = np.arange(left.sum()) - np.repeat(offsets, left)
        where = np.repeat(at[todo], left) + step * walked
        lacking = np.where((bits[where] & flag) == 0, walked, len(walked))  # len: none
        first = np.minimum.reduceat(lacking, offsets)
        at[todo] = np.where(first < left, at[todo] + step * first, stop[todo])
    return at


# Keys of character spans (words, whole lines): a polynomial hash mod 2**64 of their
# lower-case code points, read off one running sum over the batch, so each span costs two
# look-ups and a product whatever its length. The base is odd, so its powers are invertible
# and a span's key does not depend on where it starts.
_HASH_BASE = 0xC2B2AE3D27D4EB4F  # odd, and unrelated to _PAGE_SALT (a multiple of it would collide)
_HASH_INVERSE = pow(_HASH_BASE, -1, 2**64)
_POWER_SPLIT = 12  # B**-i = B**-(i mod 4096) * (B**-4096)**(i >> 12): two small tables


def _powers(base: int, count: int) -> np.ndarray:
    """``base**0 .. base**(count - 1)`` mod 2**64."""
    powers = np.full(count, base, dtype=np.uint64)
    powers[:1] = 1
    return np.cumprod(powers, out=powers)  # unsigned products wrap mod 2**64


_INVERSE_LOW = _powers(_HASH_INVERSE, 1 << _POWER_SPLIT)
_INVERSE_STEP = pow(_HASH_INVERSE, 1 << _POWER_SPLIT, 2**64)  # B**-4096
_POWERS_LOW = _powers(_HASH_BASE, 1 << _POWER_SPLIT)
_POWERS_STEP = pow(_HASH_BASE, 1 << _POWER_SPLIT, 2**64)  # B**4096


def _prefix_hash(low: np.ndarray) -> np.ndarray:
    """Running sums of ``low[i] * B**i`` mod 2**64, with a leading 0 (one more than ``low``)."""
    # B**i for 4096 i at a time, as the outer product of two short tables (a running product
    # over the whole text would be several times slower).
    rows = (len(low) >> _POWER_SPLIT) + 1
    terms = np.empty((rows, 1 << _POWER_SPLIT), dtype=np.uint64)
    np.multiply(_powers(_POWERS_STEP, rows)[:, None], _POWERS_LOW, out=terms)
    terms = terms.ravel()[: len(low)]
    np.multiply(terms, low, out=terms)
    prefix = np.empty(len(low) + 1, dtype=np.uint64)
    prefix[0] = 0
    np.cumsum(terms, out=prefix[1:])
    return prefix


def _span_keys(prefix: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """One int64 key per span ``start:stop`` of the text :func:`_prefix_hash` summed: equal
    lower-cased spans get equal keys wherever they are."""
    if len(start) == 0:
        return np.zeros(0, dtype=np.int64)
    high = _powers(_INVERSE_STEP, int(start.max() >> _POWER_SPLIT) + 1)
    to_start = _INVERSE_LOW[start & ((1 << _POWER_SPLIT) - 1)] * high[start >> _POWER_SPLIT]
    return ((prefix[stop] - prefix[start]) * to_start).view(np.int64)


def _mix(keys: np.ndarray) -> np.ndarray:
    """Keys times an odd number mod 2**64 (one to one), as unsigned: a short word's key is a
    small number, and the product spreads its bits to the top, where hash tables read."""
    return keys.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)


_MAX_PROBES = 48  # rounds of the hash table before _distinct sorts instead (AEB batches need 3 to 12)


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct values of int64 ``keys``: per key, the number of its value (0, 1,
    ..., in the order of the positions returned), and one position holding each value. Like
    ``np.unique(keys, return_inverse=True)`` up to the numbering, without its sort (a few
    times faster on this machine): keys go into an open-addressing hash table, all at once,
    a few rounds of array operations moving the keys whose slot another key holds to the next."""
    n = len(keys)
    bits = int(n).bit_length() + 1  # a table of 2n to 4n slots: most keys settle in one round
    slot = (_mix(keys) >> np.uint64(64 - bits)).astype(np.intp)
    owner = np.full(1 << bits, -1, dtype=np.intp)  # the key position that holds each slot
    group = np.empty(n, dtype=np.intp)
    todo = np.arange(n)
    for _ in range(_MAX_PROBES):
        if not len(todo):
            break
        free = owner[slot] < 0
        owner[slot[free]] = todo[free]  # of several keys claiming a slot, one wins
        held_by = owner[slot]
        settled = keys[held_by] == keys[todo]  # equal keys always travel together
        group[todo[settled]] = held_by[settled]
        todo = todo[~settled]
        slot = (slot[~settled] + 1) & ((1 << bits) - 1)
    if len(todo):  # words made to collide (a round per key would be quadratic): sort instead
        _, one_at, number = np.unique(keys, return_index=True, return_inverse=True)
        return number.ravel(), one_at
    holder = group == np.arange(n)
    number = np.cumsum(holder) - 1
    return number[group], np.flatnonzero(holder)


class _KeyTable:
    """A fixed set of int64 keys (word keys, prefix codes) that answers for many values at
    once which key each equals: a hash table of buckets by the top bits of the mixed keys
    (:func:`_mix`), 8 to 16 buckets per key. A value's bucket holds one key or none, mostly;
    the values of the few crowded buckets are binary-searched. A binary search for every
    value costs several times as much."""

    def __init__(self, keys: np.ndarray):
        keys = np.asarray(keys, dtype=np.int64)
        self.size = len(keys)
        self.bits = len(keys).bit_length() + 3
        mixed = _mix(keys)
        self.order = np.argsort(mixed, kind="stable")  # the table's slots, in keys' numbering
        self.mixed = mixed[self.order]
        bucket_start = np.searchsorted(self._bucket(self.mixed), np.arange((1 << self.bits) + 1))
        # Per bucket: the slot to compare with (its first key; an empty bucket's points at
        # another bucket's key or the last, and the comparison fails), and whether it holds
        # more than one key (those values are binary-searched).
        self.first_slot = np.minimum(bucket_start[:-1], max(self.size - 1, 0))
        self.crowded = np.diff(bucket_start) > 1

    def _bucket(self, mixed: np.ndarray) -> np.ndarray:
        return (mixed >> np.uint64(64 - self.bits)).astype(np.intp)

    def find(self, values: np.ndarray) -> np.ndarray:
        """Per value, the index of the key equal to it (as the keys were given), or -1."""
        if self.size == 0:
            return np.full(len(values), -1, dtype=np.intp)
        mixed = _mix(np.asarray(values, dtype=np.int64))
        bucket = self._bucket(mixed)
        at = np.take(self.first_slot, bucket)
        crowded = np.flatnonzero(np.take(self.crowded, bucket))
        if len(crowded):
            at[crowded] = np.minimum(np.searchsorted(self.mixed, mixed[crowded]), self.size - 1)
        return np.where(np.take(self.mixed, at) == mixed, np.take(self.order, at), -1)

    def has(self, values: np.ndarray) -> np.ndarray:
        """Which values are keys of the table."""
        return self.find(values) >= 0


def _list_word_keys(entries: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The keys of the words in a list of entries, as :func:`_span_keys` keys a page's words
    (an entry may read as several words, "e-mail", or none), and the entry each comes from."""
    bits, low, _ = _classify(_codepoints("\n".join(entries)))
    ws, we = _word_spans(bits)
    starts = np.cumsum([0] + [len(entry) + 1 for entry in entries[:-1]])
    return _span_keys(_prefix_hash(low), ws, we), np.searchsorted(starts, ws, side="right") - 1


@lru_cache(maxsize=1)
def _cue_words() -> tuple[_KeyTable, np.ndarray, dict[tuple[str, ...], int]]:
    """Every word list the features look words up in (the cue rules' first words and words
    after a capital, boilerplate and reply words) in one table: per key, a bit for each list
    that holds it, and each list's bit. One look-up per batch serves every list (a look-up
    costs the same for a few words as for thousands)."""
    lists = [_BOILER_WORDS, _REPLY_WORDS]
    lists += [words for rule in cues.RULES for words in (rule.first_words, rule.capital_then)]
    lists = list(dict.fromkeys(words for words in lists if words))
    assert len(lists) <= 63
    keys = [np.unique(_list_word_keys(words)[0]) for words in lists]
    every, owner = np.unique(np.concatenate(keys), return_inverse=True)
    masks = np.zeros(len(every), dtype=np.int64)
    np.bitwise_or.at(
        masks, owner.ravel(), np.repeat(1 << np.arange(len(lists), dtype=np.int64), [len(k) for k in keys])
    )
    return _KeyTable(every), masks, {words: 1 << i for i, words in enumerate(lists)}


def _cue_word_masks(distinct_keys: np.ndarray) -> np.ndarray:
    """Per distinct word of a batch, the bits of the :func:`_cue_words` lists holding it."""
    table, masks, _ = _cue_words()
    at = table.find(distinct_keys)
    return np.where(at >= 0, np.take(masks, np.maximum(at, 0)), 0)


# Line endings that say "more" (after stripping " .:>)]", so "..." and "[…]" read as "" and "[…").
_MORE_WORDS = ("read more", "continue reading", "weiterlesen", "mehr", "lire la suite", "leer más", "leia mais",
               "czytaj dalej", "читать далее", "more", "…", "»", "›")  # fmt: skip


def _prefix_code(low: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The three lower-case code points from each position ``at`` as one number."""
    return (low[at].astype(np.int64) << 42) | (low[at + 1].astype(np.int64) << 21) | low[at + 2]


def _first_prefix(low: np.ndarray, ws: np.ndarray, word_len: np.ndarray, first: np.ndarray,
                  has_word: np.ndarray) -> np.ndarray:  # fmt: skip
    """Per line, :func:`_prefix_code` of its ``first`` word when that has three or more
    characters, else -1 (no prefix code)."""
    out = np.full(len(first), -1, dtype=np.int64)
    if len(ws):
        long_enough = has_word & (word_len[first] >= 3)
        out[long_enough] = _prefix_code(low, ws[first[long_enough]])
    return out


@lru_cache(maxsize=8)
def _prefix_codes(prefixes: tuple[str, ...]) -> _KeyTable:
    """:func:`_prefix_code` of three-letter prefixes."""
    low = np.array([ord(c) for p in prefixes for c in p.lower()], dtype=np.int64)
    return _KeyTable(_prefix_code(low, np.arange(0, len(low), 3)))


def _rule_candidates(n: int, ws: np.ndarray, word_line: np.ndarray, first: np.ndarray, has_word: np.ndarray,
                     first_prefix: np.ndarray, bits: np.ndarray, word_in) -> list[np.ndarray]:  # fmt: skip
    """Per rule of ``cues.RULES``, the lines whose first word lets the rule match (see
    ``cues.Rule``), from the words' spans and lines and each line's ``first`` word
    (``has_word``: the lines that have one; ``first_prefix``: see :func:`_first_prefix`);
    ``word_in(words)`` says which words of the batch are in a word list. Same flags as
    running every rule on every line (tests/test_cues.py); only a first word the regex engine
    case-folds on its own (a long "ſ", the Kelvin sign) or one led by a combining mark could
    escape the look-up."""
    if len(ws) == 0:  # every rule needs a word
        return [np.zeros(n, dtype=bool) for _ in cues.RULES]
    first_bits = bits[ws[first]]
    later = np.ones(len(ws), dtype=bool)
    later[first[has_word]] = False  # words after the first of their line
    out = []
    for rule in cues.RULES:
        if not (rule.first_words or rule.first_prefixes or rule.digit_first or rule.capital_then):
            out.append(np.ones(n, dtype=bool))
            continue
        ok = word_in(rule.first_words)[first]
        if rule.digit_first:
            ok |= (first_bits & _DIGIT) > 0
        if rule.first_prefixes:
            ok |= _prefix_codes(rule.first_prefixes).has(first_prefix)
        if rule.capital_then:
            then = np.zeros(n, dtype=bool)
            then[word_line[later & word_in(rule.capital_then)]] = True
            ok |= ((first_bits & _UPPER) > 0) & then
        out.append(ok & has_word)
    return out


# How a line that opens with "Read more" (cues.READ_MORE) begins: its phrases' first three letters.
_READ_MORE_FIRST = tuple(sorted({phrase[:3] for phrase in cues.READ_MORE_PHRASES}))


@lru_cache(maxsize=1)
def _more_endings() -> tuple[_KeyTable, _KeyTable]:
    """Codes of the last four characters of the multi-character :data:`_MORE_WORDS` (see
    :func:`_suffix_code`), and the one-character ones."""
    long = [w[-4:] for w in _MORE_WORDS if len(w) >= 4] + [" " + w for w in _MORE_WORDS if len(w) == 3]
    short = [ord(w) for w in _MORE_WORDS if len(w) == 1]
    assert all(len(w) == 4 for w in long) and len(long) + len(short) == len(_MORE_WORDS)
    codes = [_suffix_code(np.array([ord(c) for c in w], dtype=np.int64), np.array([3])) for w in long]
    return _KeyTable(np.unique(np.concatenate(codes))), _KeyTable(np.array(short, dtype=np.int64))


def _suffix_code(low: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The four lower-case code points ending at each position ``at`` as one number (16 bits
    each: astral ones share codes, which only lets a few more lines through the filter)."""

    def cp(k: int) -> np.ndarray:
        return np.minimum(low[at - k], 0xFFFF).astype(np.int64)

    return (cp(3) << 48) | (cp(2) << 32) | (cp(1) << 16) | cp(0)


def _read_more(texts: list[str], first_prefix: np.ndarray, bits: np.ndarray, low: np.ndarray,
               starts: np.ndarray, ends: np.ndarray) -> np.ndarray:  # fmt: skip
    """Lines that open with "Read more" (cues.READ_MORE) or end with a "more" word or a
    truncation mark (:data:`_MORE_WORDS`, within the last 24 characters after stripping
    :data:`_MORE_STRIP_CHARS`). Array look-ups find the few lines that can (by how their
    first word begins, and by their last four characters); only those are tested as strings."""
    n = len(texts)
    may = _prefix_codes(_READ_MORE_FIRST).has(first_prefix)
    last = _skip_run(bits, _MORE_STRIP, ends - 1, starts - 1, -1)  # the last one not stripped
    long_codes, short_codes = _more_endings()
    has_last = last >= starts
    may |= has_last & short_codes.has(low[np.maximum(last, 0)])
    four = has_last & (last - starts >= 3)
    may[four] |= long_codes.has(_suffix_code(low, last[four]))
    flag = np.zeros(n)
    start = cues.READ_MORE.match
    for i in np.flatnonzero(may).tolist():
        t = texts[i].lower()
        flag[i] = bool(start(t)) or t[-24:].rstrip(_MORE_STRIP_CHARS).endswith(_MORE_WORDS)
    return flag


def _cue_flags(texts: list[str], lengths: np.ndarray,
               may_match: list[np.ndarray] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Which lines say a cue phrase, by the rules of :mod:`cleaner.cues` (the corpus labels
    with the same ones); ``lengths``: the lines' lengths; ``may_match``: per rule, the lines
    that can match it (see :func:`_rule_candidates`)."""
    n = len(texts)
    out = {}
    for name, rows in cues.cue_lines(texts, lengths, may_match).items():
        flag = np.zeros(n)
        flag[rows] = 1.0
        out[name] = flag
    return out


class _Pages:
    """Page boundaries of the rows of a feature matrix (several pages are featurized in one
    pass): for each row, the index of its page's first and last row."""

    def __init__(self, page: np.ndarray):
        n = len(page)
        new = np.ones(n, dtype=bool)
        new[1:] = page[1:] != page[:-1]
        self.starts = np.flatnonzero(new)
        self.of_row = np.cumsum(new) - 1
        ends = np.append(self.starts[1:], n) - 1
        self.first = self.starts[self.of_row]
        self.last = ends[self.of_row]
        self.size = (self.last - self.first + 1).astype(float)
        self.index = np.arange(n)

    def total(self, x: np.ndarray) -> np.ndarray:
        """Per-row sum of ``x`` over the row's page."""
        return np.add.reduceat(x, self.starts, axis=0)[self.of_row]

    def before(self, x: np.ndarray) -> np.ndarray:
        """Per-row sum of ``x`` over the earlier rows of the same page."""
        exclusive = np.cumsum(x, axis=0) - x
        return exclusive - exclusive[self.first]

    def shift(self, a: np.ndarray, offset: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows moved by ``offset`` (row i gets row i+offset), zero beyond the page; written
        into ``out`` when given."""
        if out is None:
            out = np.empty_like(a)
        n = len(a)
        # One contiguous copy, then the few rows that crossed a page edge are cleared.
        lo, hi = max(-offset, 0), n - max(offset, 0)
        if lo < hi:
            out[lo:hi] = a[lo + offset : hi + offset]
        out[: min(lo, n)] = 0
        out[max(hi, 0) :] = 0
        if len(self.starts) > 1:
            src = self.index + offset
            out[np.flatnonzero((src < self.first) | (src > self.last))] = 0
        return out

    def window_means(self, a: np.ndarray, widths: tuple[int, ...]) -> list[np.ndarray]:
        """For each ``w`` of ``widths``: the mean of rows i-w..i+w, clipped to the page,
        columnwise (one running sum serves every width)."""
        n = len(a)
        c = np.zeros((n + 1, a.shape[1]))
        np.cumsum(a, axis=0, out=c[1:])
        out = []
        for w in widths:
            # Rows whose window fits in the page take two slices of the running sum; only
            # the rows near a page edge need their own bounds (gathers cost several times more).
            mean = np.empty_like(c[1:])
            if n > 2 * w:
                np.subtract(c[2 * w + 1 :], c[: n - 2 * w], out=mean[w : n - w])
                mean[w : n - w] /= 2 * w + 1
            edge = np.flatnonzero((self.index - w < self.first) | (self.index + w > self.last))
            lo = np.maximum(edge - w, self.first[edge])
            hi = np.minimum(edge + w, self.last[edge]) + 1
            mean[edge] = (c[hi] - c[lo]) / (hi - lo)[:, None]
            out.append(mean)
        return out

    def since(self, mask: np.ndarray) -> np.ndarray:
        """Rows since the last row of the page where ``mask`` holds (0 on it); 1000 if none."""
        last = np.maximum.accumulate(np.where(mask, self.index, -1))
        return np.where(last >= self.first, self.index - last, 1000).astype(float)

    def until(self, mask: np.ndarray) -> np.ndarray:
        """Rows until the next row of the page where ``mask`` holds (0 on it); 1000 if none."""
        big = len(mask) + 1
        nxt = np.minimum.accumulate(np.where(mask, self.index, big)[::-1])[::-1]
        return np.where(nxt <= self.last, nxt - self.index, 1000).astype(float)


_REPLY_WORDS = ("reply", "antworten", "répondre", "responder", "rispondi", "odpowiedz", "ответить", "beantwoorden")
_TOPIC_WORD = 5  # letters: shorter words say little about a page's topic
_PAGE_TOPIC_WORDS = 30
_COUNT_CAP = 1024  # higher counts share the histogram's last bin (see _kth_by_histogram)


def _top_per_page(page: np.ndarray, count: np.ndarray, eligible: np.ndarray, k: int, at_least: int) -> np.ndarray:
    """Which distinct words (rows: their page, their count) are among the ``k`` most counted
    eligible ones of their page, counted at least ``at_least`` times. Words tied with the
    ``k``-th all count: the choice never depends on the order of the words."""
    top = np.zeros(len(count), dtype=bool)
    rows = np.flatnonzero(eligible)
    if len(rows) == 0:
        return top
    row_page, row_count = page[rows].astype(np.int64), count[rows].astype(np.int64)
    cut = _kth_by_histogram(row_page, row_count, k)
    if cut is None:
        order = np.argsort(row_page * 2**32 - row_count)  # by page, most counted first
        ranked_page, ranked_count = row_page[order], row_count[order]
        first = np.searchsorted(ranked_page, row_page, side="left")
        last = np.searchsorted(ranked_page, row_page, side="right") - 1
        cut = ranked_count[np.minimum(first + k - 1, last)]  # the page's k-th count (or its last)
    top[rows] = (row_count >= cut) & (row_count >= at_least)
    return top


def _kth_by_histogram(page: np.ndarray, count: np.ndarray, k: int) -> np.ndarray | None:
    """Per row, the ``k``-th largest count of its page (0 when the page has fewer than ``k``
    rows), from a histogram of (page, count): counts are small, and sorts are slow. None when
    the histogram would be large (many pages, high counts): then sort."""
    width = int(min(count.max(), _COUNT_CAP)) + 1
    pages = int(page.max()) + 1
    if pages * width > 8 * len(count) + 65536:
        return None
    histogram = np.bincount(page * width + np.minimum(count, width - 1), minlength=pages * width)
    at_or_above = np.cumsum(histogram.reshape(pages, width)[:, ::-1], axis=1)[:, ::-1]
    reached = at_or_above >= k  # True up to the k-th count, then False
    kth = np.where(reached[:, 0], width - 1 - np.argmax(reached[:, ::-1], axis=1), 0)
    if width - 1 == _COUNT_CAP and (kth == _COUNT_CAP).any():
        return None  # a k-th count at the cap may be higher
    return kth[page]


def _topic_shares(inverse: np.ndarray, distinct_page: np.ndarray, word_line: np.ndarray, word_len: np.ndarray,
                  digit_words: np.ndarray, prose: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per line, the share of its long words that recur in the page's other prose lines, and
    the share that are among the page's most frequent long prose words. The article's lines
    share its topic; teasers for other articles, a second article and furniture do not.
    ``inverse`` numbers each word's distinct word (per page), ``distinct_page`` its page."""
    is_long = (word_len >= _TOPIC_WORD) & (digit_words == 0)
    in_prose = prose[word_line] * is_long
    in_prose_count = np.bincount(inverse, weights=in_prose, minlength=len(distinct_page))
    recurs = is_long & ((in_prose_count[inverse] - in_prose) > 0)
    eligible = np.zeros(len(distinct_page), dtype=bool)
    eligible[inverse[is_long]] = True
    top = _top_per_page(distinct_page, in_prose_count, eligible, _PAGE_TOPIC_WORDS, at_least=2)
    long_words = np.maximum(np.bincount(word_line[is_long], minlength=n)[:n], 1)
    return (np.bincount(word_line, weights=recurs, minlength=n)[:n] / long_words,
            np.bincount(word_line, weights=top[inverse] & is_long, minlength=n)[:n] / long_words)  # fmt: skip


_NUMBER_KEY = np.int64(0x5BD1E995)  # every word with a digit, as one word: dates and counts vary


def _repeated_ends(keys: np.ndarray, digit_words: np.ndarray, word_line: np.ndarray, first_word: np.ndarray,
                   last_word: np.ndarray, has_word: np.ndarray, page_of_line: np.ndarray,
                   n: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per line, how many other lines of its page open with the same two words, and how many
    close with the same two (words with digits count as one word). The items of a template
    (comment headers, teasers ending "... More info", price notes) share them; an article's
    paragraphs rarely do."""
    if len(keys) == 0:
        return np.zeros(n), np.zeros(n)
    keys = np.where(digit_words > 0, _NUMBER_KEY, keys).view(np.uint64)
    salt = page_of_line.astype(np.int64).view(np.uint64) * _PAGE_SALT.view(np.uint64)
    counts = []
    for one, other in ((first_word, first_word + 1), (last_word, last_word - 1)):
        other = np.clip(other, 0, len(keys) - 1)
        pair = np.where(word_line[other] == np.arange(n), keys[other], np.uint64(0))
        key = (keys[np.clip(one, 0, len(keys) - 1)] * np.uint64(_HASH_BASE) + pair + salt).view(np.int64)
        number, _ = _distinct(key)
        counts.append(np.where(has_word, np.log1p(np.bincount(number)[number] - 1), 0.0))
    return counts[0], counts[1]


def _digits_per_word(bits: np.ndarray, ws: np.ndarray, we: np.ndarray) -> np.ndarray:
    """Digits in each word (word spans ``ws:we`` of the batch), from one running sum."""
    digits_before = np.zeros(len(bits) + 1, dtype=np.int32)
    np.cumsum((bits & _DIGIT) > 0, out=digits_before[1:])
    return (digits_before[we] - digits_before[ws]).astype(np.int64)


def _line_keys(low: np.ndarray, starts: np.ndarray, lengths: np.ndarray, page: np.ndarray) -> np.ndarray:
    """Per line, the key that finds duplicate lines of a page (menus repeated in header and
    footer): a position-weighted sum of its lower-case characters (weight: position in the
    line mod 97, plus 1), salted with its page. Short lines can collide ("Home" and "Food");
    an exact key (a hash of the lower-cased line) cost both models a little dev accuracy when
    they were retrained with it (HTML body tokens .959 against .962), so this key stays.

    The sums come from two running sums over the batch, so a line costs a few look-ups
    whatever its length (int64 arithmetic wraps, but every sum it rebuilds is small)."""
    ends = starts + lengths
    below = np.zeros(len(low) + 1, dtype=np.int64)  # below[x]: sum of low[:x]
    np.cumsum(low, dtype=np.int64, out=below[1:])
    summed = np.zeros(len(low) + 1, dtype=np.int64)  # summed[x]: below[1] + ... + below[x]
    np.cumsum(below[1:], out=summed[1:])

    def weighted(x: np.ndarray) -> np.ndarray:  # sum of (i + 1) * low[i] for i < x
        return x * below[x] - summed[np.maximum(x - 1, 0)]

    in_line = below[ends] - below[starts]
    key = weighted(ends) - weighted(starts) - starts * in_line  # weights 1, 2, ... from each line's start
    # Past 97 characters the weights start again at 1: each further run of 97 characters
    # weighs 97 less per character for each run before it.
    runs = (lengths - 1) // 97
    long = np.flatnonzero(runs > 0)
    if len(long):
        count = runs[long]
        first = np.cumsum(count) - count
        run = np.arange(1, count.sum() + 1) - np.repeat(first, count)  # 1 .. runs, per long line
        run_starts = np.repeat(starts[long], count) + 97 * run
        key[long] -= 97 * (count * below[ends[long]] - np.add.reduceat(below[run_starts], first))
    return key * 1000 + lengths + page.astype(np.int64) * _PAGE_SALT


def _put_columns(out: np.ndarray, col: int, parts) -> int:
    """Write ``parts`` (columns, or blocks of columns) side by side into ``out`` from column
    ``col``; returns the column after them. Filling one matrix saves stacking the parts."""
    for part in parts:
        width = 1 if part.ndim == 1 else part.shape[1]
        out[:, col : col + width] = part.reshape(len(part), width)
        col += width
    return col


def nonblank_index(lines: Lines) -> np.ndarray:
    """Indices of the lines that get a label (the non-blank ones)."""
    return np.flatnonzero(~lines.blank)


def _nonblank(values: list, lines: Lines) -> list:
    """The entries of a per-line list for the non-blank lines (the list itself when no line
    is blank, as from segment_html)."""
    if not lines.blank.any():
        return values
    return [values[i] for i in nonblank_index(lines).tolist()]


@dataclass(frozen=True, eq=False)
class Lexicon:
    """Words that tell a line's class, each with its log-lift per class (how much likelier a
    short line holding it is of that class than short lines in general), learned from
    labelled lines by ``cleaner.train.learn_lexicon``: the model's knowledge of words like
    "Impressum", "Reply" or "announces" in every language its training pages have. The
    features give each line the share of its words found here and their mean scores."""

    words: tuple[str, ...]
    scores: np.ndarray  # one row per word, one column per class

    def __post_init__(self) -> None:
        if np.shape(self.scores) != (len(self.words), len(_LEXICON_CLASSES)):
            raise ValueError(f"lexicon scores need one row per word and {len(_LEXICON_CLASSES)} columns")


@lru_cache(maxsize=4)  # one per model: the vocabulary tuple and the lexicon object are the key
def _word_table(
    vocab: tuple[str, ...], lexicon: Lexicon | None
) -> tuple[_KeyTable, np.ndarray, np.ndarray, np.ndarray]:
    """The keys of the model's vocabulary and lexicon words together, which list holds each
    and its lexicon scores (zero for vocabulary words only): one look-up per distinct word
    of a batch serves both."""
    words = tuple(lexicon.words) if lexicon is not None else ()
    scores = np.asarray(lexicon.scores, dtype=float) if lexicon is not None else np.zeros((0, len(_LEXICON_CLASSES)))
    every = tuple(sorted(set(vocab) | set(words)))
    if not every:
        none = np.zeros(0, dtype=bool)
        return _KeyTable(np.zeros(0, dtype=np.int64)), none, none, scores
    span_keys, owner = _list_word_keys(every)
    # A listed "word" the features would read as several (or none) can never match: dropped.
    single = np.bincount(owner, minlength=len(every)) == 1
    keys = np.zeros(len(every), dtype=np.int64)
    keys[owner] = span_keys
    position = {w: i for i, w in enumerate(every)}
    in_vocab = np.zeros(len(every), dtype=bool)
    in_vocab[[position[w] for w in vocab]] = True
    table_scores = np.zeros((len(every), len(_LEXICON_CLASSES)))
    in_lexicon = np.zeros(len(every), dtype=bool)
    rows = [position[w] for w in words]
    table_scores[rows] = scores
    in_lexicon[rows] = True
    return _KeyTable(keys[single]), in_vocab[single], in_lexicon[single], table_scores[single]


def _look_up(distinct_keys: np.ndarray, vocab: tuple[str, ...],
             lexicon: Lexicon | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Per distinct word: in the vocabulary, in the lexicon, its lexicon scores."""
    table, in_vocab, in_lexicon, scores = _word_table(vocab, lexicon)
    if table.size == 0:
        none = np.zeros(len(distinct_keys), dtype=bool)
        return none, none, np.zeros((len(distinct_keys), len(_LEXICON_CLASSES)))
    at = table.find(distinct_keys)
    found = at >= 0
    at[~found] = 0
    return found & np.take(in_vocab, at), found & np.take(in_lexicon, at), np.take(scores, at, axis=0)


def _lexicon_columns(in_lexicon: np.ndarray, scores: np.ndarray, inverse: np.ndarray, word_line: np.ndarray,
                     words_eff: np.ndarray, n: int) -> list[np.ndarray]:  # fmt: skip
    """Per line, the share of its words in the lexicon and, per class, their mean score;
    ``in_lexicon`` and ``scores`` per distinct word of the batch, ``inverse`` each word's."""
    word_hit = in_lexicon[inverse]
    rows = word_line[word_hit]
    count = np.bincount(rows, minlength=n)[:n].astype(float)
    hit_distinct = inverse[word_hit]
    per_class = np.ascontiguousarray(scores.T)  # one contiguous row per class: cheap gathers
    counted = np.maximum(count, 1)
    means = [np.bincount(rows, weights=np.take(row, hit_distinct), minlength=n)[:n] / counted for row in per_class]
    return [count / words_eff, *means]


def text_features(lines: Lines, vocab: tuple[str, ...] = (), page: np.ndarray | None = None, *,
                  lexicon: Lexicon | None = None, text_only: bool = True, dtype: npt.DTypeLike = np.float64) -> np.ndarray:  # fmt: skip
    """Feature matrix (one row per non-blank line, columns :func:`feature_names`).

    ``vocab`` is the model's list of frequent words and ``lexicon`` its :class:`Lexicon` (see
    ``cleaner.train``; without one, the lexicon columns are 0). ``page`` numbers
    the page of every line when ``lines`` holds several pages (non-decreasing); all context
    stays within a page, so a page gets the same rows alone or in a batch. ``text_only=False``
    leaves out the columns only text mode reads (:data:`TEXT_ONLY_NAMES`). Inference asks
    for ``dtype=np.float32``: the networks read float32 (half the memory traffic of the
    neighbour copies); training keeps float64, so a retrain reproduces the shipped models.

    >>> from cleaner.segment import segment_text
    >>> X = text_features(segment_text("Home | News\\n\\nThe minister spoke at length today."))
    >>> X.shape == (2, len(feature_names()))
    True
    """
    keep = nonblank_index(lines)
    n = len(keep)
    columns = _N_FEATURES if text_only else _N_SHARED
    if n == 0:
        return np.zeros((0, columns), dtype=dtype)
    pages = _Pages(np.zeros(n, dtype=np.int64) if page is None else np.asarray(page)[keep])
    page_of_line = pages.of_row
    texts = _nonblank(lines.text, lines)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    chars = lengths.astype(float)  # the whole line's length; the rest reads at most READ_CHARS
    if lengths.max() > READ_CHARS:
        texts = [text[:READ_CHARS] for text in texts]
        lengths = np.minimum(lengths, READ_CHARS)
    read = lengths.astype(float)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    joined = "\n".join(texts)
    cps = _codepoints(joined)
    bits, low, combination = _classify(cps)
    line_of_char = np.repeat(np.arange(n), lengths + 1)[: len(cps)]  # the joining "\n" goes with its line
    class_counts = _class_counts(combination, line_of_char, n)
    del combination

    def per_line(flag: int) -> np.ndarray:
        return class_counts[:, flag.bit_length() - 1]

    letters, digits, upper = per_line(_LETTER), per_line(_DIGIT), per_line(_UPPER)
    spaces, punct, cjk = per_line(_SPACE).copy(), per_line(_PUNCT), per_line(_CJK)
    spaces[:-1] -= 1  # the "\n" that joins each line to the next is not the line's own
    separators, quotes, commas = per_line(_SEPARATOR), per_line(_QUOTE), per_line(_COMMA)
    at_signs = per_line(_AT)

    ws, we = _word_spans(bits)
    word_line = line_of_char[ws]
    word_len = we - ws

    def words_per_line(mask: np.ndarray | None = None) -> np.ndarray:
        rows = word_line if mask is None else word_line[mask]
        return np.bincount(rows, minlength=n)[:n].astype(float)

    words = words_per_line()
    title = words_per_line((bits[ws] & _UPPER) > 0) if len(ws) else np.zeros(n)
    short = words_per_line(word_len < 3)
    # CJK text has no spaces: count its characters as words so length features compare.
    words_eff = np.maximum(words + cjk * 0.7, 1.0)

    # Function-word density, two ways: the page's own most frequent short words (function
    # words lead every language's frequency list, so no word list is needed), and the
    # model's vocabulary learned from training pages.
    keys = _span_keys(_prefix_hash(low), ws, we)  # the running sum (8 bytes a character) freed at once
    # The batch's distinct words, per page (keys salted with the page): each word look-up
    # below is made once per distinct word and read back through ``inverse``.
    word_page = page_of_line[word_line].astype(np.int64)
    inverse, one_at = _distinct(keys + word_page * _PAGE_SALT)
    distinct_keys, distinct_page, distinct_len = keys[one_at], word_page[one_at], word_len[one_at]

    word_masks = _cue_word_masks(distinct_keys)[inverse]
    list_bit = _cue_words()[2]

    def word_in(words: tuple[str, ...]) -> np.ndarray:
        """Which words of the batch are in ``words`` (one of the :func:`_cue_words` lists;
        none for an empty list, as for a rule without first words)."""
        return (word_masks & list_bit[words]) != 0 if words else np.zeros(len(word_masks), dtype=bool)

    occurrences = np.bincount(inverse, minlength=len(one_at))
    top = _top_per_page(distinct_page, occurrences, distinct_len <= _SHORT_WORD, _PAGE_TOP_WORDS, at_least=3)
    frequent = words_per_line(top[inverse])
    in_vocab, in_lexicon, distinct_scores = _look_up(distinct_keys, tuple(vocab), lexicon)
    known = words_per_line(in_vocab[inverse])
    boiler_words = words_per_line(word_in(_BOILER_WORDS))
    boiler_words += _lines_saying("©", joined, line_of_char, n) > 0
    digit_words = _digits_per_word(bits, ws, we)
    year_like = (word_len == 4) & (digit_words == 4)
    if year_like.any():
        first_two = cps[ws[year_like]] * 10 + cps[ws[year_like] + 1]
        year_like[year_like] = (first_two == ord("1") * 10 + ord("9")) | (first_two == ord("2") * 10 + ord("0"))
    year = np.minimum(words_per_line(year_like), 1)
    url = np.minimum(_lines_saying("://", joined, line_of_char, n) + at_signs, 1).astype(float)

    # Last visible character (closing quotes and brackets skipped) and first one of a line.
    ends = starts + lengths
    last = _skip_run(bits, _SPACE | _CLOSER, ends - 1, starts - 1, -1)
    last_ok = last >= starts
    last_bits = np.where(last_ok, bits[np.maximum(last, 0)], 0)
    terminal = ((last_bits & _TERMINAL) > 0).astype(float)
    colon = ((last_bits & _COLON) > 0).astype(float)
    ellipsis = (((last_bits & _ELLIPSIS) > 0) | (last_ok & (last >= 2) & (cps[np.maximum(last, 0)] == ord(".")) &
                (cps[np.maximum(last - 1, 0)] == ord(".")) & (cps[np.maximum(last - 2, 0)] == ord(".")))).astype(float)  # fmt: skip
    first = _skip_run(bits, _SPACE, starts, ends, 1)
    first_ok = first < ends
    first_c = np.minimum(first, len(cps) - 1)
    after_first = cps[np.minimum(first_c + 1, len(cps) - 1)]
    bullet = first_ok & (
        ((bits[first_c] & _BULLET) > 0)
        | (((bits[first_c] & _DIGIT) > 0) & ((after_first == ord(".")) | (after_first == ord(")"))))
    )

    same_line, _ = _distinct(_line_keys(low, starts, lengths, page_of_line))
    duplicate = (np.bincount(same_line)[same_line] > 1).astype(float)

    # Each line's first word (a line without words points at a word of another line).
    word_bounds = np.searchsorted(word_line, np.arange(n + 1))  # line i's words: word_bounds[i]:word_bounds[i + 1]
    first_word = np.minimum(word_bounds[:-1], max(len(ws) - 1, 0))
    has_word = word_line[first_word] == np.arange(n) if len(ws) else np.zeros(n, dtype=bool)
    first_prefix = _first_prefix(low, ws, word_len, first_word, has_word)
    may_match = _rule_candidates(n, ws, word_line, first_word, has_word, first_prefix, bits, word_in)
    flags = _cue_flags(texts, lengths, may_match)
    flags["read_more"] = _read_more(texts, first_prefix, bits, low, starts, ends)
    block = lines.block[keep]
    change = np.ones(n + 1, dtype=bool)  # a block (or page) starts before row i / ends after row i-1
    change[1:-1] = (block[1:] != block[:-1]) | (page_of_line[1:] != page_of_line[:-1])
    break_before = change[:-1].astype(float)
    break_after = change[1:].astype(float)
    block_start = np.flatnonzero(break_before)
    block_of = (np.cumsum(break_before) - 1).astype(int)
    block_lines = np.diff(np.concatenate([block_start, [n]]))[block_of].astype(float)
    block_index = (np.arange(n) - block_start[block_of]).astype(float)
    prose = ((words_eff >= 10) & (terminal > 0)).astype(float)

    # Column-major: each feature is one contiguous column, so the neighbour columns below
    # are plain block copies.
    out = np.empty((n, columns), order="F", dtype=dtype)
    base_columns = [
        np.log1p(chars), np.log1p(words_eff), np.minimum(letters / words_eff, 20) / 10, letters / read,
        digits / read, upper / np.maximum(letters, 1), punct / read, spaces / read, cjk / read,
        title / words_eff, short / words_eff, frequent / words_eff, known / words_eff,
        np.minimum(boiler_words, 3) / 3, terminal, colon, ellipsis, bullet.astype(float),
        np.minimum(separators, 5) / 5, flags["comment"], flags["related"], flags["byline"], flags["read_more"],
        url, year, duplicate, np.minimum(quotes, 4) / 4, np.minimum(commas / words_eff * 10, 1),
        break_before, break_after, np.log1p(block_lines), np.log1p(block_index), prose,
        *_lexicon_columns(in_lexicon, distinct_scores, inverse, word_line, words_eff, n),
    ]  # fmt: skip
    width = _put_columns(out, 0, base_columns)
    base = out[:, :width]
    exists = np.ones((n, 1), dtype=dtype)
    col = width
    for offset in _NEIGHBOURS:  # written in place: the matrix is the largest array here
        pages.shift(base, offset, out=out[:, col : col + width])
        pages.shift(exists, offset, out=out[:, col + width : col + width + 1])
        col += width + 1
    window_cols = [BASE_NAMES.index(name) for name in _WINDOW_NAMES]
    col = _put_columns(out, col, pages.window_means(base[:, window_cols], _WINDOWS))

    index = (pages.index - pages.first).astype(float)
    prose_chars = prose * chars
    total_prose = np.maximum(pages.total(prose_chars), 1.0)
    prose_before = pages.before(prose_chars)
    page_columns = [
        index / np.maximum(pages.size - 1, 1), np.log1p(index), np.log1p(pages.size - 1 - index),
        prose_before / total_prose, (total_prose - prose_before - prose_chars) / total_prose,
        np.log1p(pages.since(flags["comment"] > 0)), np.log1p(pages.since(flags["related"] > 0)),
        np.log1p(pages.since(prose > 0)), np.log1p(pages.until(prose > 0)),
        chars / np.maximum.reduceat(chars, pages.starts)[pages.of_row],
        (pages.total(break_before) > 1).astype(float), pages.total(prose) / pages.size, np.log1p(pages.size),
    ]  # fmt: skip
    col = _put_columns(out, col, page_columns)
    if not text_only:
        return out

    # A lone "Reply" under each reader comment, unlike the form that follows an article.
    reply_link = ((words == 1) & word_in(_REPLY_WORDS)[first_word]).astype(float) if len(ws) else np.zeros(n)
    topic_recurs, topic_top = _topic_shares(inverse, distinct_page, word_line, word_len, digit_words, prose, n)
    same_opening, same_closing = _repeated_ends(
        keys, digit_words, word_line, first_word, word_bounds[1:] - 1, has_word, page_of_line, n
    )
    width = len(TEXT_ONLY_NAMES)
    own = out[:, col : col + width]
    col = _put_columns(out, col, (topic_recurs, topic_top, reply_link, same_opening, same_closing))
    for offset in _NEIGHBOURS:
        pages.shift(own, offset, out=out[:, col : col + width])
        col += width
    _put_columns(out, col, pages.window_means(own[:, :1], _WINDOWS))
    return out


_BOILER_WORDS = tuple(sorted(w for w in cues.BOILERPLATE_WORDS if w != "©"))


_CONTEXT_WINDOWS = (2, 5, 15)
# Page features the context pass also reads: a run of prose after a comment heading is a
# thread, the same run with no heading before it (only a reply form after) is the article.
_CONTEXT_PAGE_NAMES = ("log_since_comment_cue", "log_since_related_cue")
_CONTEXT_PAGE_COLS = [feature_names().index(name) for name in _CONTEXT_PAGE_NAMES]


def run_share(values: np.ndarray, page: np.ndarray | None = None) -> np.ndarray:
    """For each row, the largest sum of ``values`` over a run of consecutive rows of its page
    that includes the row, as a share of the page's largest run sum (rows of a page whose
    every run sums to 0 or less get 1). ``page`` numbers the page of every row, as in
    :func:`text_features`.

    >>> run_share(np.array([2.0, -1.0, 3.0, -9.0, 1.0])).tolist()
    [1.0, 1.0, 1.0, -1.0, 0.25]
    """
    n = len(values)
    if n == 0:
        return np.zeros(0)
    pages = _Pages(np.zeros(n, dtype=np.int64) if page is None else page)
    sums = np.zeros(n + 1)
    np.cumsum(values, out=sums[1:])  # sums[i]: the rows before row i
    # A run through row i sums to sums[j + 1] - sums[k], k <= i <= j. Both extremes are running
    # ones that restart on every page: shifting each page below the ones before it (by more
    # than the whole batch's spread) restarts a running minimum or maximum for free.
    offset = pages.of_row * (2 * float(np.abs(values).sum()) + 1)
    lowest = np.minimum.accumulate(sums[:-1] - offset) + offset
    highest = np.maximum.accumulate((sums[1:] - offset)[::-1])[::-1] + offset
    best = highest - lowest
    page_best = np.maximum.reduceat(best, pages.starts)[pages.of_row]
    return np.where(page_best > 0, best / np.where(page_best > 0, page_best, 1.0), 1.0)


def related_cue_nearer(X: np.ndarray) -> np.ndarray:
    """Rows whose nearest cue heading above is a related one ("You May Also Like") rather
    than a comment one ("Leave a Reply"), from the rows of :func:`text_features`: teasers
    under a related heading that follows a comment form are teasers, not comments."""
    return X[:, _CONTEXT_PAGE_COLS[1]] < X[:, _CONTEXT_PAGE_COLS[0]]


def context_names(classes: tuple[str, ...], containers: bool = False) -> list[str]:
    """Names of the columns of :func:`context_features` (``containers``: with HTML groups)."""
    names = list(BASE_NAMES) + list(_CONTEXT_PAGE_NAMES) + ["related_cue_nearer"] + [f"p_{c}" for c in classes]
    for offset in (-3, -2, -1, 1, 2, 3):
        names += [f"p_{c}@{offset:+d}" for c in classes]
    for w in _CONTEXT_WINDOWS:
        names += [f"p_{c}~{w}" for c in classes]
    names += [f"p_{c}_mass_before" for c in classes] + [f"p_{c}_mass_after" for c in classes]
    if containers:
        for level in (1, 2, 3):
            names += [f"p_{c}_container{level}" for c in classes] + [f"log_container{level}_lines"]
    return names


def container_groups(lines: Lines) -> np.ndarray:
    """For the non-blank HTML lines, the numbers of their three nearest block containers."""
    if lines.dom is None:
        raise ValueError("container_groups needs lines from segment_html")
    rows = _nonblank(lines.dom.containers, lines)
    return np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=3 * len(rows)).reshape(len(rows), 3)


def context_features(X: np.ndarray, P: np.ndarray, page: np.ndarray | None = None,
                     groups: np.ndarray | None = None, dtype: npt.DTypeLike = np.float64) -> np.ndarray:  # fmt: skip
    """Second-pass features: a line's own shape plus the first pass's class probabilities of
    the line, its neighbours and its surroundings, so a label can follow its run (a teaser
    list under "You May Also Like" reads as one run). For HTML, ``groups`` (from
    :func:`container_groups`) adds the mean probabilities of the lines in each of the line's
    three nearest containers: an article body or a teaser list is judged as a whole. Rows as
    in ``X``; ``page`` numbers the page of every row when ``X`` holds several pages;
    ``dtype`` as in :func:`text_features`."""
    n = len(P)
    width = (
        len(BASE_NAMES)
        + len(_CONTEXT_PAGE_NAMES)
        + 1
        + P.shape[1] * 12  # itself, 6 neighbours, 3 windows, mass before and after
        + (0 if groups is None else 3 * (P.shape[1] + 1))
    )
    if n == 0:
        return np.zeros((0, width), dtype=dtype)
    pages = _Pages(np.zeros(n, dtype=np.int64) if page is None else page)
    # Row-major, as the models were trained on (the layout changes the float rounding of
    # training, so a retrain would differ).
    out = np.empty((n, width), dtype=dtype)
    k = P.shape[1]
    # A network reads "nearer than" poorly from the two distances: given as a column too.
    col = _put_columns(out, 0, (X[:, : len(BASE_NAMES)], X[:, _CONTEXT_PAGE_COLS], related_cue_nearer(X), P))
    for offset in (-3, -2, -1, 1, 2, 3):
        pages.shift(P, offset, out=out[:, col : col + k])
        col += k
    chars = np.expm1(X[:, 0].astype(float))[:, None]  # float64 even from float32 features: running sums
    mass = P * chars
    total = np.maximum(pages.total(mass), 1.0)
    before = pages.before(mass)
    col = _put_columns(
        out, col, (*pages.window_means(P, _CONTEXT_WINDOWS), before / total, (total - before - mass) / total)
    )
    if groups is not None:
        for level in range(3):
            # Container numbers restart on every page: pair them with the page (one int64 key
            # per row: an order of magnitude faster than unique rows of a two-column array).
            key = (pages.of_row.astype(np.int64) << 32) | groups[:, level].astype(np.int64)
            group, _ = _distinct(key)
            size = np.bincount(group).astype(float)
            means = np.column_stack([np.bincount(group, weights=mass[:, j]) for j in range(k)])
            weight = np.bincount(group, weights=chars[:, 0])
            col = _put_columns(
                out, col, (means[group] / np.maximum(weight[group], 1.0)[:, None], np.log1p(size[group]))
            )
    return out


# --- HTML: the DOM context of each line (segment.Dom), appended to the text features -------

_TAG_GROUPS = (
    ("p",), ("div",), ("li", "dd", "dt"), ("td", "th", "caption"), ("h1", "h2", "h3", "h4", "h5", "h6"),
    ("pre",), ("blockquote",), ("figcaption", "figure"), ("form", "fieldset", "legend", "summary", "details"),
    ("article", "main", "section"), ("header", "footer", "nav", "aside"), ("body", "html", "center"),
)  # fmt: skip
_TAG_GROUP_OF = {tag: i for i, group in enumerate(_TAG_GROUPS) for tag in group}
# Words of class/id/role names, by what they usually mark (matched on the nearest ancestors).
_DOM_CUE_GROUPS = (
    ("content", r"content|article|post|entry|story|body|text|main|prose|richtext|paragraph|blog"),
    ("title", r"title|headline|heading|header|h1"),
    ("meta", r"byline|author|date|time|meta|dateline|published|timestamp|credit|source"),
    ("caption", r"caption|figure|image|img|photo|picture|media|gallery|video"),
    ("nav", r"nav|menu|breadcrumbs?|pagination|pager|tabs?|toolbar|topbar|skip|links?"),
    ("footer", r"footer|copyright|legal|bottom|colophon|imprint|impressum"),
    ("sidebar", r"sidebar|side|widget|aside|rail|column|col|secondary|right|left"),
    ("share", r"share|sharing|social|follow|facebook|twitter|whatsapp|email|print"),
    ("ad", r"ad|ads|advert\w*|sponsor\w*|promo\w*|banner|dfp|gpt|outbrain|taboola|partner\w*"),
    ("subscribe", r"newsletter|subscribe|signup|subscription|paywall|cookie\w*|consent|gdpr|modal|popup|overlay"),
    ("tags", r"tags?|categor\w*|topics?|keywords?|labels?"),
    ("comment", r"comments?\w*|respond|repl\w*|disqus\w*|discussion\w*|talkback|kommentare?"),
    (
        "related",
        r"related\w*|recommend\w*|recirc\w*|teasers?|popular\w*|trending\w*|mostread|readnext|more\w*|similar\w*",
    ),
    ("list", r"list|items?|cards?|grid|feed|stream|river|tiles?"),
    ("hidden", r"hidden|hide|invisible|sr|screen|visually|offscreen"),
)
_DOM_CUES = tuple((name, re.compile(rf"\b(?:{words})\b")) for name, words in _DOM_CUE_GROUPS)
_DOM_NEAREST = 8
_TOKEN_BUCKETS = 32
DOM_BASE_NAMES = (
    *(f"tag_{group[0]}" for group in _TAG_GROUPS), "tag_other", "heading_level", "log_depth", "depth_vs_page",
    *(f"in_{flag}" for flag in DOM_FLAGS), "link_density", *(f"dom_{name}" for name, _ in _DOM_CUE_GROUPS),
    "log_run", "run_index", "same_tokens_as_prev", "same_tokens_as_next", "log_repeat2", "log_repeat3",
    *(f"token_hash_{i}" for i in range(_TOKEN_BUCKETS)),
)  # fmt: skip
_DOM_NEIGHBOUR_NAMES = ("link_density", "log_run", "dom_content", "dom_related", "dom_comment", "in_link")


def dom_feature_names() -> list[str]:
    """Names of the columns of :func:`dom_features`."""
    names = list(DOM_BASE_NAMES)
    for offset in (-2, -1, 1, 2):
        names += [f"{n}@{offset:+d}" for n in _DOM_NEIGHBOUR_NAMES]
    return names


_N_DOM = len(dom_feature_names())  # computed once: the names are built afresh on each call


def html_feature_names() -> list[str]:
    """Columns of :func:`html_features`: the text features, then the DOM features."""
    return feature_names(text_only=False) + dom_feature_names()


@lru_cache(maxsize=16384)
def _token_code(token: str) -> tuple[int, int]:
    """DOM cue bits (bit i: ``_DOM_CUES[i]``) and hash bucket of one class/id token. Tokens
    are letters only (``segment._value_tokens``), so a cue found in a line's token string is
    always one whole token: testing each distinct token once serves every line."""
    bits = sum(1 << i for i, (_, pattern) in enumerate(_DOM_CUES) if pattern.fullmatch(token))
    return bits, zlib.crc32(token.encode()) % _TOKEN_BUCKETS


@lru_cache(maxsize=16384)  # the batches of a corpus repeat their pages' token strings
def _token_string_code(tokens: str) -> tuple[int, tuple[int, ...]]:
    """DOM cue bits and hash buckets of a line's nearest ancestor tokens (a token string)."""
    bits, buckets = 0, []
    for token in tokens.split(" ", _DOM_NEAREST)[:_DOM_NEAREST]:
        if token:
            token_bits, bucket = _token_code(token)
            bits |= token_bits
            buckets.append(bucket)
    return bits, tuple(buckets)


def _token_rows(token_strings: list[str]) -> np.ndarray:
    """DOM cue flags (column i: ``_DOM_CUES[i]``) then hashed buckets of each distinct
    string of a line's nearest ancestor tokens (a page's lines share few distinct strings)."""
    codes = [_token_string_code(tokens) for tokens in token_strings]
    cue_bits = np.array([bits for bits, _ in codes], dtype=np.int64)
    row_of = np.repeat(np.arange(len(codes)), [len(buckets) for _, buckets in codes])
    bucket_of = np.array([b for _, buckets in codes for b in buckets], dtype=np.int64)
    rows = np.zeros((len(token_strings), len(_DOM_CUES) + _TOKEN_BUCKETS))
    rows[:, : len(_DOM_CUES)] = (cue_bits[:, None] >> np.arange(len(_DOM_CUES))) & 1
    rows[row_of, len(_DOM_CUES) + bucket_of] = 1.0
    return rows


def _repeat_rank(key: np.ndarray, container: np.ndarray) -> np.ndarray:
    """Per row, how many other containers held rows of the same ``key`` before the row's own
    container first did: 0 in the first container, 1 in the next, and so on."""
    _, key = np.unique(key, return_inverse=True)  # dense, so the pair code below cannot overflow
    pair = key.ravel() * (int(container.max()) + 1) + container
    _, first, pair_of = np.unique(pair, return_index=True, return_inverse=True)
    # The distinct pairs in the order they first appear, grouped by key: a pair's rank is its
    # place within its key's group.
    pair_key = key.ravel()[first]
    order = np.lexsort((first, pair_key))
    new_key = np.ones(len(order), dtype=bool)
    new_key[1:] = pair_key[order][1:] != pair_key[order][:-1]
    starts = np.flatnonzero(new_key)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - starts[np.cumsum(new_key) - 1]
    return rank[pair_of.ravel()]


def dom_features(lines: Lines, page: np.ndarray | None = None) -> np.ndarray:
    """DOM feature matrix of HTML lines (rows: the non-blank lines, as in :func:`text_features`).

    >>> from cleaner.segment import segment_html
    >>> D = dom_features(segment_html("<nav><a href=/>Home</a></nav><p>Some text here.</p>"))
    >>> D.shape == (2, len(dom_feature_names()))
    True
    """
    dom = lines.dom
    if dom is None:
        raise ValueError("dom_features needs lines from segment_html")
    keep = nonblank_index(lines)
    n = len(keep)
    if n == 0:
        return np.zeros((0, _N_DOM))
    pages = _Pages(np.zeros(n, dtype=np.int64) if page is None else np.asarray(page)[keep])
    # map() with a default for every tag: C loops, no generator frames.
    tag_group = np.fromiter(
        map(_TAG_GROUP_OF.get, _nonblank(dom.tag, lines), itertools.repeat(len(_TAG_GROUPS))), dtype=np.int64, count=n
    )
    tag_onehot = np.zeros((n, len(_TAG_GROUPS) + 1))
    tag_onehot[np.arange(n), tag_group] = 1.0
    depth = np.array(_nonblank(dom.depth, lines), dtype=float)
    heading = np.array(_nonblank(dom.heading, lines), dtype=float) / 6
    flag_bits = np.array(_nonblank(dom.flags, lines), dtype=np.int64)
    flags = ((flag_bits[:, None] >> np.arange(len(DOM_FLAGS))) & 1).astype(float)
    chars = np.fromiter(map(len, _nonblank(lines.text, lines)), dtype=float, count=n)
    link_density = np.array(_nonblank(dom.link_chars, lines), dtype=float) / np.maximum(chars, 1)
    # Each distinct token string is read once; its lines take its row.
    token_strings = _nonblank(dom.tokens, lines)
    number = {tokens: i for i, tokens in enumerate(dict.fromkeys(token_strings))}  # in order of first use
    token_id = np.fromiter(map(number.__getitem__, token_strings), dtype=np.int64, count=n)
    token_rows = _token_rows(list(number))[token_id]
    cue_flags, hashed = token_rows[:, : len(_DOM_CUES)], token_rows[:, len(_DOM_CUES) :]
    # Runs of lines under the same ancestors: menus and teaser lists are long runs.
    token_id = token_id + pages.of_row * (n + 1)
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = token_id[1:] != token_id[:-1]
    run_start = np.flatnonzero(new_run)
    run_of = np.cumsum(new_run) - 1
    run_len = np.diff(np.append(run_start, n))[run_of].astype(float)
    run_index = (np.arange(n) - run_start[run_of]) / np.maximum(run_len - 1, 1)
    same_prev = (~new_run).astype(float)
    same_next = np.append(~new_run[1:], False).astype(float)
    # Lines under the same ancestors as lines of an earlier container: the second article of
    # an endless-scroll page, the later items of a teaser list (a first article's paragraphs
    # share their containers, so ads or figures between them do not count).
    groups = container_groups(lines)
    repeats = [np.log1p(_repeat_rank(token_id, groups[:, level])) for level in (1, 2)]
    # Each page's median depth: depths sorted within pages, the middle one (or two).
    by_page = depth[np.lexsort((depth, pages.of_row))]
    size = np.diff(np.append(pages.starts, n))
    median_depth = (by_page[pages.starts + (size - 1) // 2] + by_page[pages.starts + size // 2]) / 2
    # Column-major, filled in place (as in text_features): the neighbour blocks are copies.
    out = np.empty((n, _N_DOM), order="F")
    col = _put_columns(out, 0, (
        tag_onehot, heading, np.log1p(depth), np.clip((depth - median_depth[pages.of_row]) / 5, -3, 3), flags,
        link_density, cue_flags, np.log1p(run_len), run_index, same_prev, same_next, *repeats, hashed,
    ))  # fmt: skip
    neighbours = out[:, [DOM_BASE_NAMES.index(name) for name in _DOM_NEIGHBOUR_NAMES]]
    for offset in (-2, -1, 1, 2):
        pages.shift(neighbours, offset, out=out[:, col : col + neighbours.shape[1]])
        col += neighbours.shape[1]
    return out


def html_features(lines: Lines, vocab: tuple[str, ...] = (), page: np.ndarray | None = None, *,
                  lexicon: Lexicon | None = None, dtype: npt.DTypeLike = np.float64, order: str = "C") -> np.ndarray:  # fmt: skip
    """Features of HTML lines: :func:`text_features` (shared with text mode, without the
    text-only columns) then :func:`dom_features`; ``dtype`` as in :func:`text_features`.

    ``order="C"`` (row-major) is the layout the shipped HTML model was trained on: the layout
    changes the float rounding of training, so a retrain on another would not reproduce it.
    Inference asks for ``"F"``: the parts are column-major, and copying them into a row-major
    matrix cost about a sixth of the HTML model's featurization."""
    parts = [
        text_features(lines, vocab, page, lexicon=lexicon, text_only=False, dtype=dtype),
        dom_features(lines, page),
    ]
    out = np.empty((len(parts[0]), sum(p.shape[1] for p in parts)), dtype=dtype, order=order)
    return np.concatenate(parts, axis=1, out=out)

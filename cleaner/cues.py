"""Cue phrases and DOM cue words, shared by the features (inference) and the corpus builder
(distant labels), so both read a cue the same way.

Phrases cover English plus the languages of our data (German, French, Spanish, Portuguese,
Italian, Polish, Russian, Dutch); they are one signal among many, never the only one.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

_I = re.IGNORECASE

# COMMENT_PHRASE, RELATED_HEADING and READ_MORE are matched against lower-cased text (about
# twice as fast as ignoring case in the regex engine).
# Comment prompts, forms and counts.
COMMENT_PHRASE = re.compile(
    r"^\W*(?:leave a (?:reply|comment)|post a comment|add (?:a|your) comment|write a comment|"
    r"\d+\s+(?:comments?|responses?|replies|reader comments|kommentare?|commentaires?|comentarios?|"
    r"coment[aá]rios?|commenti|komentarz[ey]?|комментари[йяев]*)|"
    r"(?:no|one|two|three)\s+(?:comments?|responses?)|comments?\s*(?:\(\d+\)|:\s*\d+)|comments? are closed|"
    r"your email address will not be published|required fields are marked|log in to (?:comment|reply)|"
    r"you must be logged in to post a comment|sign in to comment|join the (?:discussion|conversation)|"
    r"show comments|view comments|load(?:ing)? comments|reply\s*↓?$|cancel reply|notify me of (?:follow-up|new)|"
    r"kommentar (?:schreiben|verfassen|abgeben)|kommentare?\s*(?:\(\d+\))?$|ihre e-mail-adresse wird nicht veröffentlicht|"
    r"schreibe einen kommentar|laisser un commentaire|votre adresse (?:e-)?mail ne sera pas publiée|"
    r"deja (?:un|tu) comentario|tu dirección de correo electrónico no será publicada|deixe (?:um|seu) comentário|"
    r"lascia un commento|dodaj komentarz|оставить комментарий|comments?$|responses?$|reacties?$)"
)
# Headings that open a list of teasers for other articles.
RELATED_HEADING = re.compile(
    r"^\W*(?:you (?:may|might) (?:also )?(?:like|enjoy|be interested)|related(?: (?:posts?|articles?|stories|"
    r"content|news|coverage|links|reading|topics))?|more (?:from|on|in|about|stories|news|articles)\b|"
    r"recommended(?: for you| stories| articles| reading)?|read (?:next|more|also)\b|also (?:read|on|see)\b|"
    r"see also|most (?:popular|read|viewed|shared|emailed|commented)|trending(?: now| stories)?|"
    r"popular (?:posts|stories|articles|now)|top stories|editor'?s? picks|don'?t miss|what to read next|"
    r"around the web|from around the web|promoted stories|sponsored stories|latest (?:news|stories|posts|articles)|"
    r"weitere (?:artikel|beiträge|themen|nachrichten|meldungen)|das könnte sie auch interessieren|"
    r"lesen sie auch|auch interessant|meistgelesen|ähnliche (?:artikel|beiträge)|mehr zum thema|"
    r"à lire aussi|lire aussi|vous aimerez aussi|articles? similaires|sur le même sujet|"
    r"te puede interesar|noticias relacionadas|art[ií]culos relacionados|lee también|"
    r"leia (?:também|mais)|veja também|not[ií]cias relacionadas|mais lidas|"
    r"leggi anche|articoli correlati|potrebbe interessarti|czytaj (?:też|także)|zobacz (?:też|także)|"
    r"читайте также|похожие (?:статьи|новости)|lees ook|gerelateerde artikelen)\W*$"
)
# Bylines and datelines: "By Jane Doe", "Published 3 May 2019", "12.03.2019 14:00". A name is
# a whole run of name characters (the run may end only at its end or before a "-"): a run that
# could be cut into names anywhere made a long "By AAAA…" line cost polynomial time.
BYLINE = re.compile(
    r"^\W*(?=[bvpdawgujfmsonBVPDAWGUJFMSONſ\d])(?:(?i:by|von|par|por|di|door|autor|author|posted by|written by|geschrieben von|publié par):?\s+"
    r"(?:[A-ZÀ-ÞА-Я][\w.'’-]*(?![\w.'’]),?\s*){1,4}(?:$|[|,•·/–—-]|\s(?i:and|und|et|y|e|on|am|le|el|em|in|for|\d))|"
    r"(?i:published|updated|posted|veröffentlicht|aktualisiert|publié|publicado|atualizado|pubblicato)\b|"
    r"\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|"
    r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b)",
)  # one leading \W* for all four forms, and a look-ahead at their first letters: most lines fail at once
# Author bios: "Jane Doe is a reporter covering energy.", "About the author", in our data's
# languages (LABELS.md: boilerplate, about the site's staff rather than the article).
AUTHOR_BIO = re.compile(
    r"^\W*(?:(?i:about the author|über den autor|à propos de l'auteur|sobre el autor|sobre o autor)\b|"
    r"(?:[A-ZÀ-ÞА-Я][\w.'’-]*,?\s+){1,4}(?:is|was|ist|war|est|es|é|è)\s+(?:[\w'’-]+\s+){0,6}?"
    r"(?i:author|writer|reporter|editor|journalist|correspondent|columnist|contributor|blogger|freelance|"
    r"autor|autorin|redakteur|redakteurin|journalistin|rédacteur|rédactrice|journaliste|periodista|redactor|"
    r"jornalista|giornalista|scrittore|scrittrice|dziennikarz|dziennikarka)\w*\b)"
)
# Words of the furniture every site repeats (legal, account, sharing, ads), in our data's
# languages; the features count them per line.
BOILERPLATE_WORDS = frozenset(
    """copyright reserved privacy cookie cookies terms newsletter subscribe subscription unsubscribe
    login logout signup register sitemap rss facebook twitter instagram pinterest linkedin youtube whatsapp
    share tweet email print advertisement advertising sponsored imprint disclaimer contact faq
    impressum datenschutz datenschutzerklärung nutzungsbedingungen abonnieren anmelden abmelden teilen
    drucken werbung anzeige kontakt agb mentions légales confidentialité partager abonner connexion
    publicité privacidad compartir suscribirse suscríbete publicidad contacto aviso política privacidade
    compartilhar assine publicidade contato condizioni condividi iscriviti pubblicità contatti
    prywatności udostępnij reklama kontakt zaloguj подписаться реклама поделиться конфиденциальности
    ©""".split()
)
# "Read more" opening a line (features.py also looks at line ends).
READ_MORE_PHRASES = (
    "read more", "continue reading", "weiterlesen", "mehr lesen", "lire la suite", "leer más", "leia mais",
    "continua a leggere", "czytaj dalej", "читать далее",
)  # fmt: skip
READ_MORE = re.compile(r"\W*(?:" + "|".join(map(re.escape, READ_MORE_PHRASES)) + ")")

# DOM class/id tokens (segment.Dom.tokens) that mark comment and related-content regions.
_COMMENT_DOM = re.compile(
    r"\b(?:comments?\w*|commentlist|respond|replies|reply|disqus\w*|discussion\w*|dsq\w*|talkback|leserkommentare?|kommentare?)\b"
)
_RELATED_DOM = re.compile(
    r"\b(?:related\w*|relatedposts|recommend\w*|recirc\w*|outbrain\w*|taboola\w*|teasers?|"
    r"alsolike|youmaylike|morestories|popular\w*|trending\w*|mostread|mostpopular|readnext|"
    r"nextread|zergnet|yarpp\w*|crp|similar\w*|aehnliche|weitere)\b"
)


# Lines at least this long (characters) are never a cue: prompts, headings and bylines are
# short; bios are a few sentences at most.
COMMENT_MAX, RELATED_MAX, BYLINE_MAX, BIO_MAX = 120, 60, 80, 400


class Rule(NamedTuple):
    """One line rule: a cue holds when the pattern matches a line shorter than ``longest``
    (lower-cased first when ``lowered``).

    The other fields say how a matching line can start, so that the features run the pattern
    only on lines that can match (a look-up in word keys they compute anyway, instead of a
    pattern call per line). A line's first word is its first run of letters and digits,
    lower-cased; a match's first word is one of ``first_words``, or begins with one of
    ``first_prefixes`` or with a digit (``digit_first``), or, with ``capital_then``, is
    capitalised and one of those words follows later in the line. A rule with none of these
    can start anywhere.
    """

    cue: str
    pattern: re.Pattern
    longest: int
    lowered: bool
    first_words: tuple[str, ...] = ()
    first_prefixes: tuple[str, ...] = ()
    digit_first: bool = False
    capital_then: tuple[str, ...] = ()


# The line rules; the per-line tests below and the features' bulk pass (:func:`cue_lines`)
# read this one table. Each rule's first words follow its pattern's alternatives in order:
# an alternative added to a pattern needs its first word here, and a line in
# tests/test_cues.py (CUE_EXAMPLES), which checks the features against the plain rules.
RULES = (
    Rule("comment", COMMENT_PHRASE, COMMENT_MAX, True, first_words=(
        "leave", "post", "add", "write", "no", "one", "two", "three", "comment", "comments", "your", "required",
        "log", "you", "sign", "join", "show", "view", "load", "loading", "reply", "cancel", "notify", "kommentar",
        "kommentare", "ihre", "schreibe", "laisser", "votre", "deja", "tu", "deixe", "lascia", "dodaj",
        "оставить", "response", "responses", "reactie", "reacties",
    ), digit_first=True),
    Rule("related", RELATED_HEADING, RELATED_MAX, True, first_words=(
        "you", "related", "more", "recommended", "read", "also", "see", "most", "trending", "popular", "top",
        "editor", "editors", "don", "dont", "what", "around", "from", "promoted", "sponsored", "latest", "weitere",
        "das", "lesen", "auch", "meistgelesen", "ähnliche", "mehr", "à", "lire", "vous", "article", "articles",
        "sur", "te", "noticias", "articulos", "artículos", "lee", "leia", "veja", "notícias", "mais", "leggi",
        "articoli", "potrebbe", "czytaj", "zobacz", "читайте", "похожие", "lees", "gerelateerde",
    )),
    Rule("byline", BYLINE, BYLINE_MAX, False, first_words=(
        "by", "von", "par", "por", "di", "door", "autor", "author", "posted", "written", "geschrieben", "publié",
        "published", "updated", "veröffentlicht", "aktualisiert", "publicado", "atualizado", "pubblicato",
    ), first_prefixes=(
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ), digit_first=True),
    Rule("byline", AUTHOR_BIO, BIO_MAX, False, first_words=("about", "über", "à", "sobre"),
         capital_then=("is", "was", "ist", "war", "est", "es", "é", "è")),
)  # fmt: skip


def _says(cue: str, text: str) -> bool:
    return any(
        len(text) < rule.longest and rule.pattern.match(text.lower() if rule.lowered else text) is not None
        for rule in RULES
        if rule.cue == cue
    )


def cue_lines(texts: list[str], lengths: np.ndarray | None = None,
              may_match: list[np.ndarray] | None = None) -> dict[str, list[int]]:  # fmt: skip
    """Indices of the lines that say each cue (``comment``, ``related``, ``byline``), for many
    lines at once; ``lengths``: their lengths, if the
    caller has them; ``may_match``: per rule of :data:`RULES`, the lines that can match it
    (by their first words; the features know them), if the caller has them. The same rules
    as :func:`comment_phrase`, :func:`related_heading` and :func:`is_byline`, with the length
    limits applied before any pattern runs (about twice as fast as one call per line).

    >>> cue_lines(["Leave a Reply", "By Jane Doe", "Plain text."])
    {'comment': [0], 'related': [], 'byline': [1]}
    """
    found: dict[str, set[int]] = {rule.cue: set() for rule in RULES}
    if lengths is None:
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    for r, rule in enumerate(RULES):
        short = lengths < rule.longest
        candidates = np.flatnonzero(short if may_match is None else short & may_match[r]).tolist()
        # Only the candidates are lower-cased: most lines are none.
        source = [texts[i].lower() for i in candidates] if rule.lowered else [texts[i] for i in candidates]
        matched = map(rule.pattern.match, source)
        found[rule.cue].update(i for i, m in zip(candidates, matched) if m is not None)
    return {name: sorted(rows) for name, rows in found.items()}


def comment_phrase(text: str) -> bool:
    """A comment prompt or count: "Leave a Reply", "12 Comments", "Kommentar schreiben".

    >>> comment_phrase("Leave a Reply"), comment_phrase("Reply to the minister")
    (True, False)
    """
    return _says("comment", text)


def related_heading(text: str) -> bool:
    """A heading that opens teasers: "You May Also Like", "Lesen Sie auch".

    >>> related_heading("You May Also Like"), related_heading("Related Posts:"), related_heading("Related to this")
    (True, True, False)
    """
    return _says("related", text)


def is_byline(text: str) -> bool:
    """A short byline or dateline, or an author bio.

    >>> is_byline("By Jane Doe, Reuters"), is_byline("By the end of 2020 the plan had failed.")
    (True, False)
    >>> is_byline("Nov. 19, 2019 8:03 am ET"), is_byline("by MARK SMITH and Ann Lee")
    (True, True)
    >>> is_byline("Lucas Nolan is a reporter for Breitbart Tech covering free speech.")
    True
    >>> is_byline("The minister is a former journalist who now leads the party.")
    False
    """
    return _says("byline", text)


_NEAREST = 10  # tokens of the nearest ancestors; a cue far up the tree says little about a line


def _nearest(tokens: str) -> str:
    return " ".join(tokens.split(" ", _NEAREST)[:_NEAREST])


def comment_dom_cue(tokens: str) -> str | None:
    """The comment-region word among a line's nearest ancestors' class/id tokens, if any.

    >>> comment_dom_cue("comment body commentlist main"), comment_dom_cue("entry content")
    ('comment', None)
    """
    match = _COMMENT_DOM.search(_nearest(tokens))
    return match.group(0) if match else None


def related_dom_cue(tokens: str) -> str | None:
    """The related-content word among a line's nearest ancestors' class/id tokens, if any.

    >>> related_dom_cue("title jp relatedposts post")
    'relatedposts'
    """
    match = _RELATED_DOM.search(_nearest(tokens))
    return match.group(0) if match else None

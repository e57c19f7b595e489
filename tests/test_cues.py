from pathlib import Path

from cleaner import cues

EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "news-article-with-boilerplate.txt"


def test_bulk_cue_matching_agrees_with_the_per_line_rules():
    lines = [
        *EXAMPLE.read_text(encoding="utf-8").splitlines(),
        "12 Comments", "Lesen Sie auch", "By Jane Doe, Reuters", "Published 3 May 2019", "x" * 130 + " comments",
        "Jane Doe is a reporter covering energy.", "Related to this, the minister spoke.", "",
    ]  # fmt: skip
    found = cues.cue_lines(lines)
    assert found["comment"] == [i for i, t in enumerate(lines) if cues.comment_phrase(t)]
    assert found["related"] == [i for i, t in enumerate(lines) if cues.related_heading(t)]
    assert found["byline"] == [i for i, t in enumerate(lines) if cues.is_byline(t)]
    assert found["comment"] and found["related"] and found["byline"]  # the sample holds each cue


# One line per alternative of each rule's pattern (and near misses), in the rules' order.
CUE_EXAMPLES = [
    "Leave a Reply", "Post a Comment", "Add your comment", "Write a comment", "12 Comments", "3 Kommentare",
    "No comments", "One response", "Comments (4)", "Comments: 12", "Comments are closed",
    "Your email address will not be published.", "Required fields are marked *", "Log in to reply",
    "You must be logged in to post a comment.", "Sign in to comment", "Join the conversation", "Show comments",
    "View comments", "Loading comments...", "Reply ↓", "Cancel reply", "Notify me of new posts by email.",
    "Kommentar schreiben", "Kommentare (3)", "Ihre E-Mail-Adresse wird nicht veröffentlicht.",
    "Schreibe einen Kommentar", "Laisser un commentaire", "Votre adresse e-mail ne sera pas publiée.",
    "Deja un comentario", "Tu dirección de correo electrónico no será publicada.", "Deixe um comentário",
    "Lascia un commento", "Dodaj komentarz", "Оставить комментарий", "Responses", "Reacties", "— Comments —",
    "You May Also Like", "Related Posts:", "More stories", "Recommended for you", "Read next",
    "Also read", "See also", "Most popular", "Trending now", "Popular posts", "Top stories", "Editor's picks",
    "Editors picks", "Don't miss", "Dont miss", "What to read next", "Around the web", "From around the web",
    "Promoted stories", "Sponsored stories", "Latest news", "Weitere Artikel", "Das könnte Sie auch interessieren",
    "Lesen Sie auch", "Auch interessant", "Meistgelesen", "Ähnliche Beiträge", "Mehr zum Thema", "À lire aussi",
    "Lire aussi", "Vous aimerez aussi", "Articles similaires", "Sur le même sujet", "Te puede interesar",
    "Noticias relacionadas", "Artículos relacionados", "Lee también", "Leia também", "Veja também",
    "Notícias relacionadas", "Mais lidas", "Leggi anche", "Articoli correlati", "Potrebbe interessarti",
    "Czytaj też", "Zobacz także", "Читайте также", "Похожие статьи", "Lees ook", "Gerelateerde artikelen",
    "» Related «", "By Jane Doe", "von Max Muster", "Par Jean Dupont", "Por Ana García", "di Marco Rossi",
    "door Jan Jansen", "Autor: Max Muster", "Author: Jane Doe", "Posted by Admin", "Written by Jane Doe",
    "Geschrieben von Max", "Publié par Jean", "Published 3 May 2019", "Updated: 4 June", "Veröffentlicht am 3. Mai",
    "Aktualisiert 12:00", "Publicado el lunes", "Atualizado em 2020", "Pubblicato il 3 maggio", "12.03.2019 14:00",
    "Nov. 19, 2019 8:03 am ET", "September 3, 2020", "May 3 2020", "About the author", "Über den Autor",
    "À propos de l'auteur", "Sobre el autor", "Sobre o autor", "Jane Doe is a reporter covering energy.",
    "Max Muster ist Redakteur bei der Zeitung.", "Jean Dupont est journaliste.", "Ana García es periodista.",
    "The minister is a former journalist who now leads the party.", "By the end of 2020 the plan had failed.",
    "Related to this, the minister spoke.", "Plain text.", "_Leave a reply", "12", "",
]  # fmt: skip


def test_the_features_cue_columns_follow_the_rules_on_every_alternative():
    from cleaner.features import feature_names, text_features
    from cleaner.segment import segment_text

    lines = [t for t in CUE_EXAMPLES if t]
    X = text_features(segment_text("\n".join(lines)))
    names = feature_names()
    for cue, says in (("comment_phrase", cues.comment_phrase), ("related_heading", cues.related_heading),
                      ("byline", cues.is_byline)):  # fmt: skip
        expected = [float(says(t)) for t in lines]
        assert X[:, names.index(cue)].tolist() == expected, cue
    assert sum(map(cues.comment_phrase, lines)) >= 37 and sum(map(cues.related_heading, lines)) >= 50
    assert sum(map(cues.is_byline, lines)) >= 30

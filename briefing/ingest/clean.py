"""Clean stage: keep the article (headline, byline, body) of a web-page text dump or HTML page and drop the chrome."""

from __future__ import annotations

import datetime
import itertools
import math
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from briefing.ingest import linemodel
from briefing.ingest.lang import HANGUL_RE as _HANGUL_RE
from briefing.ingest.lang import KANA_RE as _KANA_RE
from briefing.ingest.lang import NON_SPACED_RE as _NON_SPACED_RE
from briefing.ingest.lang import detect_language, stoplist
from briefing.models import CleanedDoc, Dropped, RawDoc
from briefing.text import EDGE_PUNCT as _EDGE_PUNCT
from briefing.text import WORD_RE as _WORD_RE
from briefing.text import find_words, normalised_lines

GOOD, NEAR, SHORT, BAD = "good", "near", "short", "bad"

# jusText-style thresholds (characters and stopword density), tuned on flattened text dumps.
LENGTH_LOW = 70
LENGTH_HIGH = 150
STOP_LOW = 0.30
STOP_HIGH = 0.32
MIN_BODY_WORDS_BEFORE_CUT = 60
LONG_PARAGRAPH_WORDS = 100
FALLBACK_MIN_SCORE = 6.0
LEAD_GAP = 8  # lines of chrome (byline, share buttons) a lead paragraph may sit above the body

# Lower-casing these changes where words start or end ("İ" gains a combining dot; "Σ" depends on its neighbours).
_CASE_SPLITTERS = ("İ", "Σ")
_BULLET_RE = re.compile(r"^\s*(?:[•·▪▸►◦‣∙*+–—-]|\d{1,2}[.)])\s+")
# A line ending in one of these (then spaces) ends a sentence (Latin, CJK full-width and Korean punctuation).
_TERMINAL_CHARS = frozenset(""".!?:;…"”’»)]。！？．」』）】〕""")
_HAN_KANA_RE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_HIRAGANA_RE = re.compile(r"[\u3040-\u309f]")
# Chinese function characters (particles, pronouns, prepositions, conjunctions, auxiliaries) and the clause
# punctuation of running prose: their share of a line's ideographs is its "stopword density".
_ZH_FUNCTION = frozenset(
    "的了在是和与也就都而及着这那之其为对将被把从到于以所因但向让由给更还又并"
    "或很最已等个们他她它我你说有不没要会能可此该各每"
)
_ZH_PUNCT = frozenset("，。、；：！？“”（）")
_ZH_CLAUSE_RE = re.compile("[，。；]")
_JA_PUNCT = frozenset("、。「」")
# Korean is spaced but its function words are endings: a word (eojeol) ending in a particle or a verb ending is a
# function-bearing word; nouns in menus and tag lists rarely carry one.
_KO_ENDINGS = (
    "은", "는", "을", "를", "에", "의", "로", "와", "과", "도", "만", "서", "고", "며", "면", "다", "요",
    "게", "지", "라", "데", "던", "할", "된", "될", "인", "한", "이", "가", "까", "께", "야", "죠", "든",
)  # fmt: skip
_KO_WORDS = frozenset((
    "및", "또", "또한", "그리고", "그러나", "하지만", "이번", "것", "수", "등", "더", "그", "이", "저", "이날",
))  # fmt: skip
_EMAIL_URL_RE = re.compile(r"^\S*(?:@\S+\.\w+|https?://\S+|www\.\S+)\S*$", re.I)

# A line that is just one of these ends the article: what follows is site chrome.
_CUTOFF_RE = re.compile(
    r"""^\W*(?:
        related(?:\s+(?:posts?|articles?|stories|content|coverage|reading|news|links|topics|items))?
      | you\s+(?:may|might)\s+(?:also\s+)?(?:like|enjoy|be\s+interested\s+in)
      | more\s+(?:stories|articles|news|from\s+[\w\s]{1,30}|on\s+this\s+(?:topic|story)|in\s+[\w\s]{1,25})
      | recommended(?:\s+(?:for\s+you|stories|articles|reading))?
      | read\s+next | what\s+to\s+read\s+next | also\s+on\s+\w+
      | most\s+(?:read|popular|viewed|shared|commented)(?:\s+\w+)?
      | trending(?:\s+now)?
      | share\s+this(?:\s+(?:article|story|post|page))? | share\s+(?:on|via)\s*\w*
      | (?:leave|post|add|write)\s+a\s+(?:comment|reply|response)(?:\s+cancel\s+reply)?
      | showing\s+\d+\s+comments? | \d+\s+comments?\s+so\s+far | readers?[’']?\s+comments
      | \d+\s+(?:comments?|responses?|replies|thoughts\s+on\s+.*)
      | comments?(?:\s*\(\d+\))? | join\s+the\s+(?:conversation|discussion)
      | (?:previous|next|older|newer)\s+(?:post|article|story|entry)
      | about\s+the\s+authors?
      | (?:foot|end)?notes | references | sources
      | like\s+this(?:\s*:)? | loading\.*
      | top\s+(?:stories|news|headlines) | latest\s+(?:news|stories|headlines|articles|videos)
      | editor[’']?s[’']?\s+picks?
      | don[’']?t\s+miss | around\s+the\s+web | from\s+(?:our|the)\s+partners | promoted\s+(?:stories|content|links)
      | paid\s+(?:content|post) | sponsored\s+(?:stories|links|content) | up\s+next | watch\s+next | must\s+read
      | in\s+case\s+you\s+missed\s+it | more\s+(?:headlines|videos|top\s+stories)
      | (?:show|view|load|see|read|hide)\s+(?:all\s+)?(?:\d+\s+)?comments? | have\s+your\s+say | reader\s+comments
    )\W*$""",
    re.I | re.X,
)
# Markers of those that head a box of links, which some sites set inside the article (the text resumes after it).
_LINK_BOX_RE = re.compile(
    r"^\W*(?:related|you\s+(?:may|might)|more\s+(?:stories|articles|news|from|on|in|headlines|videos|top)|recommended"
    r"|read\s+next|what\s+to\s+read|also\s+on|most\s|trending|top\s|latest\s|editor|don|around\s|up\s+next|must\s"
    r"|in\s+case\s|(?:à\s+)?lire\s+aussi|sur\s+le\s+même|articles?\s"
    r"|les\s+plus|dans\s+la\s+même|mehr\s+zum|(?:das\s+)?könnte|weitere|ähnliche|verwandte|meistgelesen"
    r"|lesen\s+sie|auch\s+interessant|(?:lea|lee)\s+también|te\s+puede|noticias|lo\s+más|leia|veja|notícias"
    r"|читайте|самое|похожие|материалы|новости|(?:이\s*시각\s*)?많이|관련|추천|인기|주요|関連|あわせて|アクセス|おすすめ"
    r"|人気|相关|热门|延伸|推荐|热点)",
    re.I,
)
# Lines of a comment thread or a post navigation (a time of day, "reply", "N thoughts on ..."): not a box of links.
_BOX_END_RE = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b(?:reply|antwort\w*|répondre|responder|rispondi|navigation|\d+\s+(?:thoughts|gedanken))\b"
    r"|beitragsnavigation",
    re.I,
)
# Headings of the lists a recipe or a how-to sets in its article (ingredients, steps, what you need).
_LIST_HEAD_RE = re.compile(
    r"^\W*(?:ingredients?|directions|instructions|method|steps|preparation|how\s+to\s+make(?:\s+it)?"
    r"|(?:what\s+)?you(?:'ll|’ll|\s+will)?\s+need|materials|equipment|supplies|tools(?:\s+needed)?"
    r"|zutaten|zubereitung|anleitung|ingrédients|préparation|ingredientes|preparación|modo\s+de\s+preparo"
    r"|como\s+fazer|ingredienti|procedimento|preparazione)(?:\s+(?:for|für|pour|para|per)\b.{0,30})?\W*$",
    re.I,
)
_DIGIT_RE = re.compile(r"\d")
# "Read also" and "related" headings that also introduce teasers inside an article.
_TEASER_RE = re.compile(
    r"related|\bread\s+(?:also|more|next)|also\s+read|you\s+(?:may|might)\s+also|recommended|more\s+(?:stories|articles)"
    r"|lire\s+aussi|lesen\s+sie\s+auch|auch\s+interessant|mehr\s+zum\s+thema|könnte\s+(?:sie|dich)\s+auch"
    r"|le[ae]\s+también|te\s+puede\s+interesar|leia\s+também|veja\s+também|читайте\s+также|관련|関連|相关",
    re.I,
)
# A whole heading over a box of teasers ("Related", "Read more:", "Recommended for you"), not a heading that only
# contains such a word ("Recommended measures:", "Related risks").
_TEASER_HEAD_RE = re.compile(
    r"^\W*(?:(?:related|recommended|more|most\s+read|popular)(?:\s+(?:stories|articles|posts|content|news|coverage"
    r"|reading|links|videos|for\s+you))?|read\s+(?:also|more|next)|also\s+read|see\s+also"
    r"|you\s+(?:may|might)\s+also\s+(?:like|enjoy|be\s+interested\s+in)|lire\s+aussi|lesen\s+sie\s+auch"
    r"|auch\s+interessant|mehr\s+zum\s+thema|le[ae]\s+también|te\s+puede\s+interesar|leia\s+também|veja\s+também"
    r"|читайте\s+также|관련\s*기사|関連(?:記事|ニュース)?|相关(?:新闻|阅读|文章)?)\W*$",
    re.I,
)
# The same kind of markers in the other languages sources come in (related, most read, comments, tags).
_CUTOFF_INTL_RE = re.compile(
    r"""^\W*(?:
        (?:à\s+)?lire\s+aussi | sur\s+le\s+même\s+sujet | articles?\s+(?:similaires|connexes|liés)
      | les\s+plus\s+(?:lus|populaires|partagés) | dans\s+la\s+même\s+rubrique | commentaires? | réagir
      | mehr\s+zum\s+thema | (?:das\s+)?könnte\s+(?:sie|dich)\s+auch\s+interessieren | weitere\s+(?:artikel|beiträge)
      | ähnliche\s+(?:artikel|beiträge) | verwandte\s+(?:artikel|beiträge|themen) | meistgelesen\w* | kommentare
      | lesen\s+sie\s+auch | auch\s+interessant | (?:lea|lee)\s+también | te\s+puede\s+interesar
      | noticias\s+relacionadas | lo\s+más\s+leído | comentarios | leia\s+também | veja\s+também
      | notícias\s+relacionadas | читайте\s+также | самое\s+(?:читаемое|популярное) | теги | комментарии
      | похожие\s+(?:новости|материалы) | материалы\s+по\s+теме | новости\s+партн[её]ров
      | (?:이\s*시각\s*)?많이\s*본\s*(?:뉴스|기사) | 관련\s*(?:뉴스|기사) | 추천\s*기사 | 인기\s*기사 | 주요\s*뉴스
      | 関連(?:記事|ニュース) | あわせて読みたい | アクセスランキング | おすすめ記事 | 人気記事
      | 相关(?:新闻|阅读|文章|报道) | 热门推荐 | 延伸阅读 | 推荐阅读 | 热点新闻 | 【纠错】.* | 责任编辑\s*[:：].*
    )\W*$""",
    re.I | re.X,
)
_CUTOFF_PREFIX_RE = re.compile(
    r"^\W*(?:tags?|tagged(?:\s+(?:with|as|in))?|topics|filed\s+under|categories|posted\s+in)\s*:"
    r"|^\s*(?:©|\(c\)\s*\d{4}|copyright\b)|all\s+rights\s+reserved",
    re.I,
)
# The heading of a comment thread, which may quote the whole headline: "3 thoughts on “...”", "One response to ...".
_COMMENTS_HEAD_RE = re.compile(
    r"^\W*(?:\d+|no|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:thoughts?|responses?|comments?|replies"
    r"|reactions?)\s+(?:on|to)\s+\W?\w",
    re.I,
)
# The action under a reader's comment ("Reply", "Reply · 24", "Report"), and the time stamp over it.
_COMMENT_ACTION_RE = re.compile(r"^\W*(?:reply|report(?:\s+abuse)?|flag)(?:\s*[·|•]?\s*\d+)?\W*$", re.I)
_COMMENT_TIME_RE = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b\d+\s+(?:hours?|minutes?|mins?|days?|weeks?|months?|years?)\s+ago\b|\b(?:19|20)\d{2}\b",
    re.I,
)
_SOCIAL_WORDS = ("facebook", "twitter", "linkedin", "whatsapp", "pinterest")
# Boilerplate phrases: the line goes, but the article may continue after it. Each pattern (applied to lower-cased
# text) comes with literals one of which every match contains: a substring check spares most lines the regex.
# WEAK marks phrases that news prose also uses ("said on Twitter", "people who sign up", "published on 3 May",
# "donate blood"): in a line of running prose they do not make it chrome.
WEAK = True
_BOILER_RULES = tuple(
    (words, re.compile(rx), bool(weak))
    for words, rx, *weak in (
        (("cookie",), r"\bcookies?\b.{0,80}\b(?:use|accept|consent|browsing|experience|policy|settings)\b"),
        (("cookie",), r"\b(?:accept|reject|manage)\s+(?:all\s+)?cookies\b"),
        (("privacy",), r"\bprivacy\s+(?:policy|notice|settings)\b"),
        (("terms",), r"\bterms\s+(?:of\s+(?:use|service)|and\s+conditions)\b"),
        (("sign", "log"), r"^\W*(?:sign|log)\s+(?:up|in)\b"),
        (("sign", "log"), r"\b(?:sign|log)\s+(?:up|in)\b", WEAK),
        (("subscribe", "newsletter"), r"\bsubscribe\b|\bnewsletters?\b|\bunsubscribe\b"),
        (("click",), r"\bclick\s+here\b"),
        (("read",), r"\bread\s+more\b|\breading\s+time\b|\b\d+\s+min(?:ute)?s?\s+read\b", WEAK),
        (("continue",), r"\bcontinue\s+reading\b"),
        (("skip",), r"\bskip\s+to\s+(?:main\s+)?content\b"),
        (("follow",), r"\bfollow\s+us\b"),
        (("share",), r"^\W*share\b|\bshare\s+(?:on|via|this)\b", WEAK),
        (_SOCIAL_WORDS, r"\b(?:facebook|twitter|linkedin|whatsapp|pinterest)\b", WEAK),
        (("advertisement",), r"^\W*advertisement\W*$"),
        (("sponsored", "promoted"), r"^\W*(?:sponsored|promoted)(?:\s+content)?\W*$"),
        (("javascript",), r"\benable\s+javascript\b"),
        (("menu", "search", "home", "close", "toggle"),
         r"^\W*(?:menu|search(?:\s+(?:for|this\s+site|the\s+site))?|home|close|toggle\s+navigation)\W*$"),
        # A cookie banner's buttons: "Got it!", "I agree", "Accept all", "Allow cookies", "Dismiss".
        (("got it", "i agree", "i accept", "agree and", "accept all", "accept cookies", "allow all", "allow cookies",
          "reject all", "dismiss"),
         r"^\W*(?:got\s+it|i\s+(?:agree|accept)|agree\s+and\s+(?:close|continue)|accept\s+(?:all(?:\s+cookies)?|cookies)"
         r"|allow\s+(?:all|cookies)|reject\s+all|dismiss)\W*$"),
        (("field", "address", "name"), r"\b(?:required\s+fields?|email\s+address|first\s+name|last\s+name)\b", WEAK),
        (("thank",), r"\bthank\s+you\s+for\s+sign"),
        (("mail",), r"\be-?mail\b.{0,80}\b(?:receive|erhalten|benötigt|subscribe|abonn|eingeben|enter|follow|recibir)",
         WEAK),
        (("latest",), r"\bget\s+the\s+latest\b", WEAK),
        (("support",), r"\bsupport\s+(?:us|our\s+(?:work|journalism))\b"),
        (("donate",), r"\bdonate\b", WEAK),
        (("powered",), r"\bpowered\s+by\b", WEAK),
        (("rights",), r"\ball\s+rights\s+reserved\b"),
        (("©",), r"©"),
        (("photo",), r"\bphoto(?:graph)?\s*(?:credit)?\s*:"),
        (("updated", "published", "posted"), r"\b(?:updated|published|posted)\s*(?:on|at)?\s*:?\s*\d", WEAK),
        # The same chrome in the other languages of the sources (cookies, privacy, login, subscribe, share).
        (("cookie",), r"\bcookies?\b.{0,100}(?:verwend|nutz|akzept|zustimm|einstellung|datenschutz|utilis|accept"
                      r"|paramètr|usamos|utilizamos|acept|polític|использ)"),
        (("datenschutz", "impressum", "agb", "netiquette"),
         r"^\W*(?:datenschutz\w*|impressum|agb|netiquette)\W*$|\bdatenschutz(?:erklärung|hinweis|einstellung)"),
        (("anmelden", "einloggen", "registrieren", "abonn", "teilen"),
         r"^\W*(?:anmelden|einloggen|registrieren|abonnieren|jetzt\s+abonnieren|teilen)\W*$|\bjetzt\s+abonnieren\b"),
        (("connecter", "abonn", "confidentialit", "mentions", "partager"),
         r"\bse\s+connecter\b|\babonnez-vous\b|\bs['’]abonner\b|politique\s+de\s+confidentialité|mentions\s+légales"
         r"|^\W*partager\W*$"),
        (("suscr", "sesión", "privacidad", "compartir"),
         r"\bsuscr[íi]b|\binici(?:ar|a)\s+sesión\b|política\s+de\s+privacidad|^\W*compartir\W*$"),
        (("подпис", "войти", "регистрац", "конфиденциальн", "поделиться"),
         r"^\W*(?:подписаться|войти|регистрация|поделиться)\W*$|политика\s+конфиденциальности"),
        (("로그인", "회원가입", "구독", "개인정보", "공유", "무단", "저작권", "인쇄", "글자"),
         r"^(?:\W*(?:로그인|회원가입|구독(?:신청)?|공유(?:하기)?|글자\s*크기|조절|인쇄|스크랩|댓글|기사\s*저장))+\W*$"
         r"|개인정보\s*처리\s*방침|무단\s*전재|저작권자"),
        (("ログイン", "会員登録", "シェア", "プライバシー", "転載", "著作権"),
         r"^\W*(?:ログイン|会員登録|シェア)\W*$|プライバシーポリシー|無断転載|転載を禁|著作権"),
        (("登录", "注册", "分享", "隐私", "版权"), r"^\W*(?:登录|注册|分享)\W*$|隐私政策|版权所有|版权声明"),
        (("ago",), r"\b\d+\s+(?:hours?|minutes?|days?)\s+ago\b", WEAK),
        (("logged in",), r"\bmust\s+be\s+logged\s+in\b"),
        (("new window", "new tab"), r"\(\s*opens\s+in\s+(?:a\s+)?new\s+(?:window|tab)\s*\)"),
        (("unlimited access",), r"\bunlimited\s+(?:digital\s+)?access\b"),
        (("send us",), r"^\W*send\s+us\s+(?:a\s+)?(?:news\s+)?tips?\b"),
        (("read the full",), r"^\W*read\s+the\s+full\s+(?:article|story|report)\b.{0,20}$"),
        (("our standards",), r"^\W*our\s+standards\s*:"),
        (("photo",), r"\(\s*[a-z]{2,10}\s+photos?\s*/[^)]{1,40}\)\W*$"),
        (("tags", "topics", "filed under", "categor", "posted in"),
         r"^\W*(?:tags|topics|filed\s+under|categor(?:y|ies)|posted\s+in)\s*:(?!.*[.!?]\W*$)"),
    )
)
# Matches wherever any rule's literal occurs (one regex scan is cheaper than a substring test per literal).
_BOILER_WORDS_RE = re.compile("|".join(sorted({re.escape(w) for words, _, _ in _BOILER_RULES for w in words})))
# End of a wire story: agency tag "[City=Agency]", "(Reporting by ...)", "-30-", "###", "ENDS".
_SIGNOFF_RE = re.compile(
    r"""^\s*(?:
        [\[(【〔][^\])】〕=]{1,40}=[^\])】〕]{1,40}[\])】〕]
      | \(?\s*(?:additional\s+)?(?:reporting|writing|editing|compiled|translated)\s+by\b[^)]{0,300}\)?
      | -\s*30\s*- | \#{3,} | (?:/\s*)?ends? | -+\s*end\s*-+ | \(end\) | \[end\] | [(（]\s*(?:完|终|끝)\s*[)）]
    )\s*\.?\s*$""",
    re.I | re.X,
)
_DATELINE_RE = re.compile(
    r"^\s*[A-Z][A-Z.'’ -]{2,40}(?:,\s*[A-Z][A-Za-z.]{0,12}\s*\d{1,2}(?:,\s*\d{4})?)?\s*\([A-Z][\w .&-]{1,30}\)\s*[-–—]+\s"  # noqa: E501
)
_SPEAKER_RE = re.compile(r"^\s*([A-Z][\w.'’-]{0,20}(?:\s+[A-Z][\w.'’-]{0,20}){0,2})\s*:\s+\S")
_DATE_ONLY_RE = re.compile(
    r"^\W*(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s*)?"
    r"(?:\d{1,2}\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:,?\s+\d{4})?"
    r"(?:\s*(?:at\s+)?\d{1,2}[:.]\d{2}\s*(?:am|pm)?\s*\w{0,4})?\W*$"
    r"|^\W*(?:\w+day,?\s*)?\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+\d{4}"  # noqa: E501
    r"(?:,?\s*\d{1,2}[:.]\d{2}\s*(?:am|pm)?\s*\w{0,4})?\W*$"
    r"|^\W*\d{4}-\d{2}-\d{2}\W*$|^\W*\d{1,2}[./]\d{1,2}[./]\d{2,4}\W*$",
    re.I,
)
# A caption that ends in its credit: "... (Foto: dpa)", "... Photo: Jane Doe", "... (REUTERS/Jane Doe)".
_CAPTION_CREDIT_RE = re.compile(
    r"(?:photo(?:graph)?(?:er)?|foto(?:graf)?|bild|image|picture|quelle|source|fuente|źródło|credit|crédit)s?\s*:"
    r"\s*[^.!?:]{1,60}\W*$"
    r"|\((?:photo|foto|bild|quelle|source|fuente|image)[^)]{0,60}\)\W*$|\([A-Z]{2,}/[^)]{1,40}\)\W*$"
    r"|(?:getty\s+images|shutterstock|unsplash|pixabay|istock|imago)\W{0,3}$",
    re.I,
)
def _caption_credit(text: str) -> bool:
    """True when a line ends in a photo credit (a caption); a credit always holds ':', '(' or '/'."""
    tail = text[-90:]
    return ("(" in tail or ":" in tail or "/" in tail) and _CAPTION_CREDIT_RE.search(tail) is not None


# The credit that ends a photo caption, whatever the language: "... Photo: Jane Doe", "... (Foto: dpa)", "Bild: X",
# "(REUTERS/Jane Doe)", "... Getty Images"; a source ("Quelle: ...") only in brackets and naming an agency or a
# photo library with a slash ("(Quelle: Hume/Unsplash)"): a data paragraph ending in "Source: Eurostat" stays.
_PHOTO_CREDIT_RE = re.compile(
    r"(?:(?<![\w-])(?:photo(?:graph)?(?:er)?s?|fotos?|fotograf(?:ie|in)?|fotocredit|bild(?:er|rechte)?|beitragsbild|images?"
    r"|pictures?|credits?(?:\s+photos?)?|crédits?(?:\s+photos?)?|photo\s+credit|фото|zdjęcie)\s*:\s*[^.!?:]{1,60}"
    r"|\((?:\w{2,10}\s+)?(?:photo|foto|bild|image)s?\s*[:/][^)]{1,60}\)|\((?:quelle|source|fuente|fonte)\s*:[^)]{0,40}/[^)]{0,40}\)"
    r"|\((?-i:[A-Z]{2,}/\s*[A-Z][a-z][^):]{1,40})\)|\b(?:getty\s+images|shutterstock(?:\.com)?|unsplash|pixabay|istock(?:photo)?|imago))"
    r"\W{0,3}$",
    re.I,
)
_CAPTION = "photo caption or credit (the article goes on around it)"


def _photo_caption(text: str) -> bool:
    """True when a line ends in a photo credit: a caption under an image, or the credit alone."""
    return _PHOTO_CREDIT_RE.search(text[-100:]) is not None


# The notice an embedded post or video leaves when the reader has not consented to third-party content: its label
# ("Empfohlener redaktioneller Inhalt", "External content"), what it is ("An dieser Stelle finden Sie einen externen
# Inhalt von Instagram") and its consent button ("Ich bin damit einverstanden, dass mir externe Inhalte angezeigt
# werden", "To view this content, you need to accept cookies").
# Every caption credit (but an agency's "(REUTERS/Name)") and every consent notice holds one of these words: a set
# lookup over a short line's words spares most lines both regexes.
_CAPTION_CONSENT_WORDS = frozenset((
    "photo", "photos", "photograph", "photographer", "foto", "fotos", "fotograf", "fotografin", "fotografie",
    "fotocredit", "bild", "bilder", "bildrechte", "beitragsbild", "symbolbild", "symbolfoto", "image", "images",
    "picture", "pictures", "credit", "credits", "crédit", "crédits", "фото", "zdjęcie", "getty", "shutterstock",
    "unsplash", "pixabay", "istock", "istockphoto", "imago", "quelle", "source", "fuente", "fonte",
    "inhalt", "inhalte", "content", "contenu", "contenido", "contenuto", "extern", "externe", "externen", "externer",
    "external", "контент",
))  # fmt: skip
_CONSENT_RE = re.compile(
    r"^\W*(?:empfohlener\s+redaktioneller\s+inhalt|externer?\s+inhalt|externe\s+inhalte\s+(?:laden|anzeigen|aktivieren)"
    r"|recommended\s+editorial\s+content|external\s+content|(?:load|show|allow)\s+(?:external\s+)?content"
    r"|contenu\s+externe|afficher\s+le\s+contenu|contenido\s+externo|contenuto\s+esterno|внешний\s+контент)\W*$"
    r"|\ban\s+dieser\s+stelle\s+(?:finde[nt]?\s+(?:sie|ihr)|findest\s+du|befindet\s+sich|wird)\s+(?:\w+\s+){0,2}extern"
    r"|\bexterne[nr]?\s+inhalte?\b.{0,60}\b(?:angezeigt|anzeigen|laden|geladen|zustimm|einverstanden|aktivier)"
    r"|\b(?:this|the)\s+(?:embedded\s+|external\s+)?content\s+(?:is\s+(?:provided|hosted)\s+by|cannot\s+be\s+"
    r"(?:displayed|shown)|is\s+(?:not\s+available|blocked)\s+(?:due\s+to|because))"
    r"|\bto\s+(?:view|display|see|show)\s+this\s+content\b.{0,80}\b(?:cookies?|consent|accept|enable|allow)"
    r"|\bce\s+contenu\s+(?:est\s+bloqué|n['’]est\s+pas\s+disponible)|\bpour\s+afficher\s+ce\s+contenu\b"
    r"|\beste\s+contenido\s+(?:no\s+está\s+disponible|está\s+bloqueado)|\bpara\s+ver\s+este\s+contenido\b",
    re.I,
)
_CONSENT = "embedded content's consent notice (the article goes on around it)"


# A link to another story set inside the article: "Read also: <headline>", "Lea también: ...", ">> headline <<".
_INLINE_TEASER_RE = re.compile(
    r"""^\W*(?:lea(?:\s+(?:también|más|además))? | mira | (?:le|te)\s+puede\s+interesar | czytaj\s+(?:też|także|również)
      | lesen\s+sie\s+(?:auch|mehr|hier) | auch\s+interessant | mehr\s+zum\s+thema | read\s+(?:also|more|next)
      | see\s+also | also\s+read | (?:à\s+)?lire\s+(?:aussi|également) | leia\s+(?:também|mais) | veja\s+também
      | читайте\s+также
      | related(?:\s+(?:story|article|post))? )\s*[:：]\s*\S
    | ^\s*>>.{10,}<<\s*$""",
    re.I | re.X,
)
# Credits inside an article (under a photo, after a quote box): "© Reuters", "Photo: AFP", "Foto: dpa", "Bild: ...".
_CREDIT_RE = re.compile(
    r"^\W*(?:©|\(c\)\s|(?:photo(?:graph)?|foto|bild|image|picture|credit|crédit|quelle|source|fuente)s?\s*(?:credit\s*)?:)"
    r"|(?:photo|foto|bild|image)\s*:\s*\S+\s*$|\s/\s*(?:reuters|afp|ap|dpa|epa|getty\s+images)\W*$",
    re.I,
)
_LABEL_RE = re.compile(r"^\W*[A-Za-z][A-Za-z ]{1,20}:\s*")
# An author box after the article: "About Jane Doe" over a bio, or "Jane Doe is a senior reporter at ..."
_ABOUT_NAME_RE = re.compile(r"^About\s+(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2})$")
_STAFF_BIO_RE = re.compile(
    r"^(?P<name>[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3})\s+(?:is|was|has\s+been)\s+(?:\S+\s+){0,5}?"
    r"(?:reporter|writer|editor|correspondent|journalist|columnist|contributor|blogger|freelancer?|photographer"
    r"|producer|critic|anchor)\b"
)
_TIME_AGO_RE = re.compile(
    r"^\W*(?:yesterday|today|just\s+now|\d+\s+(?:hours?|hrs?|minutes?|mins?|days?|weeks?)\s+ago"
    r"|gestern|heute|vor\s+\d+\s+(?:stunden?|minuten?|tagen?)|hier|ayer|hoy)\W*$",
    re.I,
)
# A section path of two short parts ("TOP STORIES / Germany", "Opinion | Europe"): never a headline or byline.
_SECTION_PATH_RE = re.compile(r"^[^\s>›»/|]+(?:\s[^\s>›»/|]+){0,2}\s[>›»/|]\s[^\s>›»/|]+(?:\s[^\s>›»/|]+){0,2}$")
_BREADCRUMB_RE = re.compile(r"^(?:you\s+are\s+here\b.*|(?:[^>›»/|]{1,30}\s[>›»/|]\s){2,}[^>›»/|]{1,40})$", re.I)
# An embedded social post: its author line, "— Jane Doe (@janedoe) March 3, 2020" under the post's text, "Jane Doe
# (@janedoe)" over it (a rendered card), or "A post shared by Jane Doe (@janedoe)" under an Instagram post.
_EMBED_BY_RE = re.compile(
    r"^[^\w—–-]{0,3}(?P<dash>[—–-]{1,2}\s*)?(?P<shared>(?:a\s+post\s+shared\s+by|ein\s+beitrag\s+geteilt\s+von"
    r"|une\s+publication\s+partagée\s+par|una\s+publicación\s+compartida\s+por)\s+)?"
    r"[^()]{1,80}\(@[\w.]{1,30}\)(?P<tail>.{0,40})$",
    re.I,
)
_EMBED_PIC_RE = re.compile(r"\bpic\.twitter\.com/\w|\binstagram\.com/p/\w")
# The rest of an embed's card: its actions, counts and time stamp ("10:15 AM · Apr 3, 2023").
_EMBED_ACTION_RE = re.compile(
    r"^\W*(?:retweets?|likes?|reply|replies|share|copy\s+link(?:\s+to\s+(?:tweet|post))?|read\s+[\d,.]+k?\s+repl\w*"
    r"|[\d,.]+[km]?\s+(?:likes|retweets|replies|reposts|views)|view\s+this\s+post\s+on\s+instagram"
    r"|view\s+(?:more\s+)?on\s+(?:instagram|twitter|x)|see\s+more\s+on\s+instagram"
    r"|diesen\s+beitrag\s+auf\s+instagram\s+ansehen|sieh\s+dir\s+diesen\s+beitrag\s+auf\s+instagram\s+an"
    r"|voir\s+cette\s+publication\s+sur\s+instagram"
    r"|\d{1,2}:\d{2}\s*[ap]\.?m\.?\s*·.{0,30})\W*$",
    re.I,
)
_EMBED = "embedded social post (tweet, Instagram)"
# A shopping widget beside a review: "$179 at Amazon", "Check all prices", "View deal", "Today's best deals".
_SHOP_RE = re.compile(
    r"^\W{0,2}[$£€]\s?\d[\d,.]*\s+(?:at|from)\s+[\w.&' -]{2,30}$"
    r"|^\W*(?:(?:check|see|view|compare)\s+(?:all\s+)?(?:prices?|deals?)|view\s+deal|(?:today['’]s\s+)?best\s+(?:deals|prices))"
    r"\W*$",
    re.I,
)
_SHOP = "shopping widget (prices, deals)"
# Labels a news page's widgets leave between the paragraphs of a text dump (whole lines): "Story continues below
# advertisement", "Image caption ...", "Listen to this article", "Copy link", "Ad Feedback", "(AP Photo/Jane Doe)".
# The article goes on around them (like a credit) and they do not end the header above the body.
_WIDGET_RE = re.compile(
    r"\W*(?:(?:story|article|text|post)\s+continues\s+(?:below|after)\b|scroll\s+(?:down\s+)?to\s+continue\b)"
    r".{0,40}$"
    r"|^\W*(?:image|media|video|photo)\s+caption\b|^\W*(?:show|hide|toggle|view)\s+caption\W*$"
    r"|^\W*image\s+(?:source|copyright|credit)\b|^\W*(?:enlarge|expand)\s+(?:this\s+)?image\W*$"
    r"|^\W*click\s+to\s+(?:expand|enlarge|play|zoom|view)\b.{0,20}$"
    r"|^\W*listen\s+to\s+(?:this\s+)?(?:article|story)\b.{0,20}$"
    r"|^\W*(?:save|gift|print|email|share)\s+(?:this\s+)?(?:article|story|page)\W*$"
    r"|^\W*copy\s+(?:the\s+)?link(?:\s+to\s+\w+)?\W*$|^\W*link\s+copied\W*$"
    r"|^\W*(?:skip|close)\s+ad\W*$|^\W*ad\s*(?:feedback|choices)\W*$"
    r"|^\W*this\s+(?:article|story|content)\s+is\s+more\s+than\s+\w+\s+\w+\s+old\W*$"
    r"|^\W*supported\s+by\W*$|^\W*last\s+(?:modified|updated)\b.{0,40}$"
    r"|^\W*media\s+playback\s+is\s+(?:not\s+supported|unsupported)\b.{0,30}$"
    r"|^\W*(?:recommended|trending|related|featured|latest|more)\s+videos?\W*$"
    r"|^\W*story\s+highlights\W*$|^\W*recommended\s+by\W*$",
    re.I,
)
# The first words of those lines (a set lookup spares the regex on every other line).
_WIDGET_FIRST = frozenset((
    "story", "article", "text", "post", "scroll", "image", "media", "video", "photo", "show", "hide", "toggle",
    "view", "enlarge", "expand", "click", "listen", "save", "gift", "print", "email", "share", "copy", "link", "skip",
    "close", "ad", "adchoices", "this", "supported", "last", "recommended", "trending", "related", "featured",
    "latest", "more",
))
_WIDGET = "widget label (caption, share, listen, 'story continues below')"
_MT_ARTIFACTS = (
    re.compile(r"\(local\s+time\)"),
    re.compile(r"\bon\s+the\s+\d{1,2}(?:st|nd|rd|th)\b(?!\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"),  # noqa: E501
    re.compile(r"\bit\s+was\s+decided\s+to\b"),
    re.compile(r" \.[ \t]*$", re.M),
    re.compile(r"\b(?:machine[- ]translated|automatically\s+translated|translated\s+by\s+(?:google|deepl|ai))\b"),
)
# Whatever each artifact pattern matches also matches its quick pattern, which starts with a literal and so is
# scanned fast; a leading \b makes Python's regex engine try the full pattern at every position of the text.
_MT_QUICK = (
    _MT_ARTIFACTS[0],
    re.compile(r"on\s+the\s+\d"),
    re.compile(r"decided"),
    _MT_ARTIFACTS[3],
    re.compile(r"translated"),
)


@dataclass
class _Block:
    """One paragraph of the dump (usually one line) with its features and verdict."""

    text: str
    start: int
    end: int
    key: str
    words: int
    chars: int
    terminal: bool
    bullet: bool
    letters: float
    stops: frozenset[str]  # stoplist of the document's language
    cjk: int  # characters of scripts written without spaces (Hangul included)
    elen: int  # length in Latin-character equivalents (an ideograph weighs 3, a Hangul syllable 2)
    cls: str = BAD
    reason: str | None = None  # set when a hard rule drops the block
    keep: bool = False
    base: str = BAD  # class from the block's own features, before its neighbours are looked at
    credit: bool = False  # a credit or an inline teaser link: dropped, but the article goes on around it
    indent: int = 0  # leading spaces of its first line in the dump (a box nested in the page is indented apart)

    @cached_property
    def stop(self) -> float:
        """Stopword density (computed on first use: most short lines are decided without it)."""
        if self.cjk > self.chars / 3:
            return _cjk_density(self.text)
        if not self.key:
            return 0.0
        if not self.stops:
            return 0.35
        words = self.key.split(" ")
        return sum(map(self.stops.__contains__, words)) / len(words)


def _cjk_density(text: str) -> float:
    """Stopword-density equivalent for a line in Chinese, Japanese or Korean (comparable to STOP_LOW/STOP_HIGH)."""
    han_kana = _HAN_KANA_RE.findall(text)
    hangul = len(_HANGUL_RE.findall(text))
    if hangul >= len(han_kana):
        tokens = [t.strip(_EDGE_PUNCT + "'‘’") for t in text.split()]
        tokens = [t for t in tokens if _HANGUL_RE.search(t)]
        if not tokens:
            return 0.0
        hits = sum(1 for t in tokens if t in _KO_WORDS or t.endswith(_KO_ENDINGS))
        return min(1.0, 0.65 * hits / len(tokens))
    if not han_kana:
        return 0.0
    hira = len(_HIRAGANA_RE.findall(text))
    if hira > 0.05 * len(han_kana):  # Japanese: particles and inflections are written in hiragana
        punct = sum(1 for c in text if c in _JA_PUNCT)
        return min(1.0, 0.9 * (hira + punct) / (len(han_kana) + punct))
    func = sum(1 for c in han_kana if c in _ZH_FUNCTION)
    punct = sum(1 for c in text if c in _ZH_PUNCT)
    density = (func + 1.5 * punct) / len(han_kana)
    # News Chinese is terse (few particles); clause punctuation inside long unspaced runs still marks prose.
    if punct and len(han_kana) >= 20 and len(han_kana) >= 8 * (text.count(" ") + 1) and _ZH_CLAUSE_RE.search(text):
        density = max(density, 0.35)
    return min(1.0, density)


def _key(text: str) -> str:
    """Normalised form of a block for repetition checks (case, bullets, punctuation and spacing ignored)."""
    return " ".join(_WORD_RE.findall(_BULLET_RE.sub("", text).lower()))


def _line_words(text: str) -> list[str]:
    """For each line of a text (split on \\n), its words joined by single spaces, in their original case."""
    return [" ".join(find_words(line)) for line in text.split("\n")]


def _line_keys(text: str, line_words: list[str]) -> list[str]:
    """For each line, its repetition key (_key of the line), from the words of _line_words."""
    if any(c in text for c in _CASE_SPLITTERS):
        return [_key(line) for line in text.split("\n")]
    return [w.lower() for w in line_words]


def _segment(lines: list[str]) -> list[tuple[str, int, int]]:
    """Split a dump's normalised lines into (paragraph, first line, last line); hard-wrapped prose lines are joined."""
    out: list[tuple[str, int, int]] = []
    cur: list[str] = []
    start = 0
    prev_line = ""
    for n, line in enumerate(lines, 1):
        if not line:
            if cur:
                out.append((" ".join(cur), start, n - 1))
                cur = []
            prev_line = ""
            continue
        if cur and _is_wrapped(prev_line, line):
            cur.append(line)
        else:
            if cur:
                out.append((" ".join(cur), start, n - 1))
            cur, start = [line], n
        prev_line = line
    if cur:
        out.append((" ".join(cur), start, start + len(cur) - 1))
    return out


def _is_wrapped(prev: str, line: str) -> bool:
    """True when `line` continues a hard-wrapped sentence from `prev`."""
    if len(prev) < 45 or _ends_sentence(prev) or _BULLET_RE.match(line) or _BULLET_RE.match(prev):
        return False
    first = line[0]
    return first.islower() or (first.isalpha() and prev.rsplit(" ", 1)[-1].lower() in stoplist("English"))


def _ends_sentence(text: str) -> bool:
    """True when the text ends in sentence-final punctuation, a closing quote or bracket (trailing spaces ignored)."""
    stripped = text.rstrip()
    return bool(stripped) and stripped[-1] in _TERMINAL_CHARS


def _make_block(text: str, start: int, end: int, words: str, stops: frozenset[str], spaced: bool) -> _Block:
    """Compute the features of one whitespace-normalised paragraph from its words (joined by spaces)."""
    n_tokens = text.count(" ") + 1
    n_words = n_tokens
    cjk = elen = 0
    if not spaced:
        han_kana = len(_HAN_KANA_RE.findall(text))
        hangul = len(_HANGUL_RE.findall(text))
        cjk = han_kana + hangul
        # Extra weight: an ideograph carries what about four Latin characters do, a kana two, a Hangul syllable three.
        kana = len(_KANA_RE.findall(text)) if han_kana else 0
        elen = 3 * han_kana - 2 * kana + 2 * hangul
        n_words += (2 * han_kana) // 3  # about 1.5 ideographs per word
    nonspace = len(text) - n_tokens + 1
    letters = (len(words) - words.count(" ")) / nonspace
    return _Block(
        text=text,
        start=start,
        end=end,
        key=words.lower(),
        words=n_words,
        chars=len(text),
        terminal=text[-1] in _TERMINAL_CHARS,
        bullet=bool(_BULLET_RE.match(text)),
        letters=letters,
        stops=stops,
        cjk=cjk,
        elen=len(text) + elen,
    )


def _blocks(text: str, stops: frozenset[str], line_words: list[str] | None, lines: list[str] | None) -> list[_Block]:
    """The paragraphs of a dump with their features (line_words, lines: _line_words and normalised_lines of text)."""
    if line_words is None:
        line_words = _line_words(text)
    spaced = _NON_SPACED_RE.search(text) is None
    raw_lines = text.split("\n")
    blocks = []
    for para, start, end in _segment(lines if lines is not None else normalised_lines(text)):
        words = line_words[start - 1] if start == end else " ".join(filter(None, line_words[start - 1 : end]))
        b = _make_block(para, start, end, words, stops, spaced)
        first = raw_lines[start - 1]
        b.indent = len(first) - len(first.lstrip())
        blocks.append(b)
    return blocks


def _base_class(b: _Block) -> str:
    """jusText-like classification from length and stopword density, demoted when a line lacks end punctuation."""
    if b.elen < LENGTH_LOW or b.words < 4:
        return SHORT
    # Only running text makes a paragraph this long (a whole article exported as one line, say): it needs no end
    # punctuation (a trailing link or contact) and a little less function-word density.
    long_prose = b.words >= LONG_PARAGRAPH_WORDS
    if b.stop >= STOP_HIGH:
        cls = GOOD if b.elen > LENGTH_HIGH else NEAR
    elif b.stop >= STOP_LOW:
        cls = GOOD if long_prose else NEAR
    elif long_prose and b.stop >= 0.2:
        cls = NEAR
    else:
        return BAD
    if not b.terminal and not long_prose:
        cls = NEAR if cls == GOOD else SHORT
    if b.bullet and cls == GOOD and b.words < 25:
        cls = NEAR
    return cls


def _hard_rules(blocks: list[_Block], repeated: set[str], embeds: bool = True) -> None:
    """Apply rules that drop a block whatever its neighbours: repetition, boilerplate phrases, menus, non-prose."""
    seen: dict[str, int] = {}
    boiler: set[str] = set()  # keys whose first occurrence was a boilerplate phrase
    for b in blocks:
        if b.key and b.key in seen and b.words < 60:
            # chrome repeated ("Advertisement" after every few paragraphs) stays chrome, out of the model's reach
            b.reason = "boilerplate phrase" if b.key in boiler else f"repeats line {seen[b.key]}"
        elif b.key and b.key in repeated:
            b.reason = "repeated in other files of the batch (site chrome)"
        elif b.letters < 0.5 and b.chars < 200:
            b.reason = "not prose (mostly digits or symbols)"
        elif _EMAIL_URL_RE.match(b.text):
            b.reason = "contact address or bare link"
        elif b.words <= 40 and _INLINE_TEASER_RE.match(b.text):
            b.reason = "teaser link ('read also: ...')"
            b.credit = True  # set inside the article: the text around it goes on
        elif b.words <= 30 and b.key.partition(" ")[0] in _WIDGET_FIRST and _WIDGET_RE.match(b.text):
            b.reason = _WIDGET
            b.credit = True  # inside the article: the text around it goes on
        elif b.words < 40 and (kind := _chrome_line(b)) is not None:
            b.reason, b.credit = kind
        elif b.words <= 8 and _SHOP_RE.match(b.text):
            b.reason = _SHOP
        elif _DATE_ONLY_RE.match(_LABEL_RE.sub("", b.text, count=1)):
            b.reason = "date line"
        elif b.text.count(",") >= 3 and b.stop < 0.3 and not b.terminal and b.words <= 7 * (b.text.count(",") + 1):
            b.reason = "category or keyword list"  # short items between commas; a long paragraph is prose
        elif b.cjk and not b.terminal and _is_cjk_item_line(b.text):
            b.reason = "menu or link list (items on one line)"
        if b.key and b.key not in seen:
            seen[b.key] = b.start
            if b.reason == "boilerplate phrase":
                boiler.add(b.key)
        b.cls = b.base = BAD if b.reason else _base_class(b)
    if embeds:  # the page holds an "(@handle)": an embedded post's author line
        _mark_embeds(blocks)
    _mark_menus(blocks)
    if not _PROS_KEYS.isdisjoint(seen):  # a line reads "Pros", "The good", ...
        _mark_pros_cons(blocks)


_MENU_RUN = "menu or link list (run of short items)"
_RELATED_BOX = "menu or link list (related links under a teaser heading)"


def _is_cjk_item_line(text: str) -> bool:
    """True for a line of five or more short CJK words separated by spaces (a section menu written on one line)."""
    tokens = text.split()
    return len(tokens) >= 5 and all(len(t) <= 5 for t in tokens) and sum(map(len, tokens)) <= 4 * len(tokens)


def _is_boilerplate(low: str, prose: bool = False) -> bool:
    """True when a lower-cased line contains a boilerplate phrase (keyword pre-filter, then the regex).

    In a line of running prose (prose=True) the weak phrases (a social network, "sign up", "donate") are not chrome.
    """
    if _BOILER_WORDS_RE.search(low) is None:
        return False
    return any(rx.search(low) for words, rx, weak in _BOILER_RULES
               if not (prose and weak) and any(w in low for w in words))


def _chrome_line(b: _Block) -> tuple[str, bool] | None:
    """(reason, credit) for a line under 40 words that is a photo caption, an embed's consent notice or a
    boilerplate phrase (credit: the article goes on around it), else None."""
    low = b.text.lower()
    if not _CAPTION_CONSENT_WORDS.isdisjoint(b.key.split()) or "/" in low[-50:]:  # "/": "(REUTERS/Jane Doe)"
        if _photo_caption(b.text):
            return _CAPTION, True
        if _CONSENT_RE.search(b.text):
            return _CONSENT, True
    if _is_boilerplate(low, b.words >= 15 and b.terminal and b.stop >= STOP_HIGH) or _BREADCRUMB_RE.match(b.text):
        return "boilerplate phrase", b.words <= 15 and _CREDIT_RE.search(b.text) is not None
    return None


def _mark_menus(blocks: list[_Block]) -> None:
    """Runs of 4+ short list items or short unpunctuated lines are navigation menus or link lists."""

    def menu_like(b: _Block) -> bool:
        if b.terminal and not b.bullet:
            return False
        return (b.bullet and b.words <= 10) or (b.words <= 6 and not b.terminal)

    i = 0
    while i < len(blocks):
        j = i
        while j < len(blocks) and menu_like(blocks[j]):
            j += 1
        if j - i >= 4 and not _inside_article(blocks, i, j):
            reason = _RELATED_BOX if i > 0 and _teaser_box(blocks, i) else _MENU_RUN
            for b in blocks[i:j]:
                if not b.reason:
                    b.reason = reason
                    b.cls = BAD
        elif j - i >= 4:
            for b in blocks[i:j]:  # a list inside the article: its spec lines are article too
                if b.reason:
                    b.reason = None
                    b.cls = b.base = _base_class(b)
        i = max(j, i + 1)
    # A short list of bulleted headlines under a teaser heading ("Read more:", "Related") is a box of links too, even
    # with fewer items than a menu run and with prose on both sides.
    for i, head in enumerate(blocks[:-1]):
        head_ok = head.reason is None or head.reason.startswith(("boilerplate", "repeat"))
        if not head_ok or head.bullet or head.words > 6:
            continue
        if head.terminal and not head.text.endswith(":"):
            continue
        if not _TEASER_HEAD_RE.match(head.text):
            continue
        j = i + 1
        while j < len(blocks) and j - i <= 6 and blocks[j].bullet and blocks[j].words <= 15 and not blocks[j].reason:
            j += 1
        if j > i + 1 and j - i <= 6:
            for b in blocks[i:j]:
                b.reason = b.reason or _RELATED_BOX
                b.cls = BAD


def _post_text(b: _Block, author: str) -> bool:
    """True when the paragraph above a post's author line can be the post: short as a post is (280 characters and a
    link), not an introduction ending in a colon, and not the article reporting it (which names the author)."""
    return b.chars <= 320 and not b.text.endswith(":") and not (author and author in b.text)


def _mark_embeds(blocks: list[_Block]) -> None:
    """Embedded social posts (a tweet, an Instagram post) are not the article: the author line with its @handle, the
    post's text next to it and the card's actions and time stamp are dropped; the article goes on around them.

    The text is the paragraph just above an author line under it ("— Jane Doe (@jd) March 3, 2020"), with the
    paragraphs above that indented like it when the post is indented apart from the page around it; under a card's
    header ("Jane Doe (@jd)") it is the paragraphs up to the card's time stamp or actions.
    """
    n = len(blocks)
    marked: set[int] = set()
    for i, b in enumerate(blocks):
        t = b.text
        if b.words > 25 or "(@" not in t:
            if ("pic.twitter" in t or "instagram.com/p/" in t) and b.words <= 80 and _EMBED_PIC_RE.search(t):
                marked.add(i)
            continue
        m = _EMBED_BY_RE.match(b.text)
        if m is None or (b.bullet and not m["dash"]):  # a bulleted link in a list of the site's accounts
            continue
        marked.add(i)
        if m["shared"]:  # Instagram: back to "View this post on Instagram" when it is near
            for j in range(i - 1, max(-1, i - 7), -1):
                if _EMBED_ACTION_RE.match(blocks[j].text):
                    marked.update(range(j, i))
                    break
        elif m["dash"] or _DIGIT_RE.search(m["tail"]):  # the post's text is above its author line, dated
            above = [j for j in range(i - 1, max(-1, i - 8), -1) if blocks[j].key]
            name = b.text[m.end("dash") if m["dash"] else 0 : b.text.index("(@")].strip(" -—–")
            if above and _post_text(blocks[above[0]], name):
                marked.add(above[0])
                j = above[0]  # lines of the post's text without a blank line between them
                while j > 0 and i - j < 6 and blocks[j - 1].end + 1 == blocks[j].start and blocks[j - 1].words <= 80:
                    j -= 1
                    marked.add(j)
                # more paragraphs of the post: indented like its author line, and the article on both sides of the
                # post indented otherwise
                k = 0
                while k < len(above) and blocks[above[k]].indent == b.indent:
                    k += 1
                after = next((j for j in range(i + 1, min(n, i + 4)) if blocks[j].key), None)
                if 1 < k < len(above) and after is not None and blocks[above[k]].indent == blocks[after].indent:
                    marked.update(above[:k])
        else:  # a card: its header, then the text up to its time stamp and actions
            text: list[int] = []
            end = False
            for j in range(i + 1, min(n, i + 10)):
                c = blocks[j]
                if not c.key:
                    continue
                if _EMBED_ACTION_RE.match(c.text) or _EMBED_PIC_RE.search(c.text) or _DATE_ONLY_RE.match(c.text):
                    end = True
                    marked.add(j)
                elif end or len(text) >= 3 or c.words > 80:
                    break
                else:
                    text.append(j)
            if end:
                marked.update(text)
    for i in marked:
        blocks[i].reason = _EMBED
        blocks[i].credit = True
        blocks[i].cls = blocks[i].base = BAD


_PROS_RE = re.compile(
    r"^\W*(?:pros|for|the\s+good|what\s+we\s+liked?|reasons\s+to\s+buy|likes|plus(?:es)?|strengths)\W*$", re.I
)
_CONS_RE = re.compile(
    r"^\W*(?:cons|against|the\s+bad|what\s+we\s+(?:don['’]?t|didn['’]?t|did\s+not|do\s+not)\s+like"
    r"|reasons\s+to\s+avoid|dislikes|minus(?:es)?|weaknesses)\W*$",
    re.I,
)
_PROS_KEYS = frozenset(("pros", "for", "the good", "what we like", "what we liked", "reasons to buy", "likes", "plus",
                        "pluses", "strengths"))
_PROS_CONS = "pros and cons box"


def _mark_pros_cons(blocks: list[_Block]) -> None:
    """A review's box of pros and cons ("Pros" over a few short items, then "Cons" over a few more) is a summary
    box set beside the article, not its text."""
    n = len(blocks)
    for i, b in enumerate(blocks):
        if b.words > 5 or b.key not in _PROS_KEYS or not _PROS_RE.match(b.text):
            continue
        end = i
        for head in (_PROS_RE, _CONS_RE):
            if end >= n or not head.match(blocks[end].text):
                break
            items = 0
            j = end + 1
            while j < n and items < 8:
                c = blocks[j]
                if c.key and (c.words > 15 or _CONS_RE.match(c.text) or (c.terminal and not c.bullet)
                              or (c.reason and c.reason != _MENU_RUN)):
                    break
                items += 1 if c.key else 0
                j += 1
            if not items:
                break
            end = j
        else:
            for c in blocks[i:end]:
                c.reason = _PROS_CONS
                c.cls = c.base = BAD


def _teaser_box(blocks: list[_Block], i: int) -> bool:
    """True when the list starting at blocks[i] is a box of links: "Related stories" and its headlines."""
    return any(b.words <= 6 and _TEASER_RE.search(b.text) for b in blocks[max(0, i - 1) : i + 1])


def _inside_article(blocks: list[_Block], i: int, j: int) -> bool:
    """True when the list blocks[i:j] sits between prose paragraphs (ingredients, steps, bullet facts), not chrome.

    The line before introduces it (prose, or a line ending in a colon) and prose resumes right after it.
    """
    if i == 0 or j >= len(blocks) or j - i > 30:
        return False
    before, after = blocks[i - 1], blocks[j]

    def prose(b: _Block) -> bool:
        return not b.reason and b.cls in (GOOD, NEAR)

    def heading(k: int) -> bool:
        """blocks[k] is a short subheading with prose on the side away from the list (k - 1 before, k + 1 after)."""
        b = blocks[k]
        side = k - 1 if k < i else k + 1
        return (not b.reason and not b.bullet and b.words <= 6 and 0 <= side < len(blocks)
                and prose(blocks[side]))

    # Items a hard rule dropped for their symbols (a spec line "* Price: $199") may sit in such a list.
    if any(b.reason and not (b.bullet and b.reason.startswith("not prose")) for b in blocks[i:j]):
        return False
    if _teaser_box(blocks, i):
        return False
    intro = prose(before) or (before.text.endswith(":") and not before.reason) or heading(i - 1)
    return intro and (prose(after) or heading(j))


def _find_cut(blocks: list[_Block]) -> tuple[int, str, bool]:
    """Index where the article ends (len(blocks) if it does not), the reason, and whether it was appended content."""
    good_words = 0
    good_paras = 0
    speaker_lines = 0
    # Words of the paragraphs (good by their own features, 25+ words) from each block on: a box of links whose
    # heading reads like an end marker ("Latest stories", "Top stories") is a sidebar above the article when at most
    # one such paragraph came before it and more than twice the prose so far follows.
    long_after = [0] * (len(blocks) + 1)
    for i in range(len(blocks) - 1, -1, -1):
        b = blocks[i]
        long_after[i] = long_after[i + 1] + (b.words if b.cls == GOOD and not b.reason and b.words >= 25 else 0)
    long_before = 0
    for i, b in enumerate(blocks):
        body_started = good_words >= MIN_BODY_WORDS_BEFORE_CUT and good_paras >= 1
        if (body_started and b.words <= 8 and long_before <= 1 and long_after[i] > max(150, 2 * good_words)
                and (_CUTOFF_RE.match(b.text) or _CUTOFF_INTL_RE.match(b.text)) and _LINK_BOX_RE.match(b.text)):
            continue  # the article is still to come: this box is a sidebar above it
        if body_started and b.words <= 40 and _SIGNOFF_RE.match(b.text):
            return i, f"agency sign-off or end marker ({b.text[:40]})", True
        if body_started and good_words >= 100 and _DATELINE_RE.match(b.text):
            return i, "a new dateline starts another story", True
        if body_started and _author_box(blocks, i):
            return i, f"author's bio after the article ({b.text[:40]})", False
        if (body_started and b.words <= 8 and (_CUTOFF_RE.match(b.text) or _CUTOFF_INTL_RE.match(b.text))
                and _LINK_BOX_RE.match(b.text) and _article_resumes(blocks, i)):
            continue  # a box of links set inside the article ("Most read" and its headlines): dropped, text goes on
        if (body_started and b.words <= 8 and (_CUTOFF_RE.match(b.text) or _CUTOFF_INTL_RE.match(b.text))
                and not (_TEASER_RE.search(b.text) and _article_follows(blocks, i, teaser=True))):
            # "Read also" and "related" teasers sit inside articles too: they end it only when no prose follows.
            return i, f"end-of-article marker ({b.text[:40]})", False
        if (body_started and b.words <= 20 and _CUTOFF_PREFIX_RE.search(b.text) and not b.cls == GOOD
                and not _article_follows(blocks, i)):
            return i, f"end-of-article marker ({b.text[:40]})", False
        if body_started and b.words <= 30 and _COMMENTS_HEAD_RE.match(b.text):
            return i, f"comment thread ({b.text[:40]})", False
        if body_started and b.words <= 3 and _COMMENT_ACTION_RE.match(b.text):
            start = _comment_start(blocks, i)
            if start is not None:
                return start, "comment thread (a reader's comment: name, time, text, 'Reply')", False
        if good_words >= 100 and speaker_lines < 2 and _SPEAKER_RE.match(b.text) and _qa_run(blocks, i):
            start = i - 1 if i > 0 and not blocks[i - 1].terminal and blocks[i - 1].words <= 15 else i
            return start, "appended Q&A transcript (change of genre)", True
        if _SPEAKER_RE.match(b.text):
            speaker_lines += 1
        if b.cls in (GOOD, NEAR) and not b.reason:
            good_words += b.words
            good_paras += b.cls == GOOD
            long_before += b.cls == GOOD and b.words >= 25
    return len(blocks), "", False


def _comment_start(blocks: list[_Block], i: int) -> int | None:
    """The first line of the reader's comment that blocks[i] ('Reply') closes, when it reads as one: 1-3 paragraphs
    of text under up to 3 short lines (name, time stamp), one of which holds a time or a date; else None."""
    j = i - 1
    text = 0
    while j >= 0 and text < 3 and (blocks[j].words > 8 or not blocks[j].key):
        text += 1 if blocks[j].key else 0
        j -= 1
    if not text:
        return None
    head: list[int] = []
    while j >= 0 and len(head) < 3 and (blocks[j].words <= 8 or not blocks[j].key):
        if blocks[j].key:
            head.append(j)
        j -= 1
    stamped = [k for k in head if _COMMENT_TIME_RE.search(blocks[k].text)]
    return min(head) if stamped else None


def _article_resumes(blocks: list[_Block], i: int) -> bool:
    """True when the article goes on after a box of links headed by blocks[i] ("Related", "Most read").

    The box is up to 14 lines that are not paragraphs (headlines, author names, dates; no comment or navigation
    line); then three paragraphs (the first of 25+ words, 75+ words in all, one-sentence paragraphs counted) must
    follow, with at most single short subheadings between them, or two and then the same box again (a widget set
    every few paragraphs): a run of running text, unlike a list of teasers (headline, author, summary; a bullet
    among them ends the run). The heading and the box are marked as a related-links box.
    """
    j = i + 1
    while j < len(blocks) and j - i <= 15 and not (blocks[j].base == GOOD and blocks[j].words >= 25):
        b = blocks[j]
        marker = _CUTOFF_RE.match(b.text) or _CUTOFF_INTL_RE.match(b.text)
        if b.words <= 8 and ((marker and not _LINK_BOX_RE.match(b.text)) or _BOX_END_RE.search(b.text)):
            return False  # comments, post navigation: the page goes on with other content
        j += 1
    if j >= len(blocks) or j - i > 15:
        return False
    paras = short = words = 0
    recurs = False
    for b in blocks[j : j + 8]:
        if b.bullet and paras:
            return False  # items after the text ("* 31.01.2022", headline, summary): a list of teasers
        if not b.key:
            continue
        if b.base == GOOD and b.words >= 15 and not b.reason:
            paras += 1
            words += b.words
            short = 0
            if paras >= 3:
                break
        elif b.terminal and not b.reason and b.words >= 6:
            words += b.words  # a one-sentence paragraph ("The army declined to comment.")
            short = 0
        elif b.words <= 8 and not b.reason and short == 0 and b.key != blocks[i].key:
            short += 1  # a subheading
        elif paras and b.key == blocks[i].key:
            recurs = True  # the same box again, after the text: a widget set every few paragraphs of the article
            break
        else:
            return False
    if (paras < 3 and not recurs) or words < 75:
        return False
    last = j - 1
    while i < last and not blocks[last].reason and (blocks[last].words <= 5 or blocks[last].terminal):
        last -= 1  # a subheading or question just above the resumed text: the context decides it
    for b in blocks[i : last + 1]:
        if b.key and not b.reason:
            b.reason = _RELATED_BOX
            b.cls = BAD
    return True


def _author_box(blocks: list[_Block], i: int) -> bool:
    """blocks[i] opens an author box: "About Jane Doe" or "Jane Doe is a senior reporter at ...", where Jane Doe is the
    byline's author (a short line above names her), or, for "About ...", nothing article-like follows. A closing news
    paragraph on a reporter ("Evan Gershkovich is a reporter for ... who has been held") is not one."""
    b = blocks[i]
    m = _ABOUT_NAME_RE.match(b.text) or (_STAFF_BIO_RE.match(b.text) if b.words <= 60 else None)
    if not m:
        return False
    name = m.group("name")
    bylined = any(k.words <= 12 and name in k.text for k in blocks[:i])
    if m.re is _ABOUT_NAME_RE:
        return bylined or not _article_follows(blocks, i)
    return bylined and not _article_follows(blocks, i)


def _article_follows(blocks: list[_Block], i: int, need: int = 1, teaser: bool = False) -> bool:
    """True when running prose (`need` good blocks) comes soon after blocks[i] (a credit or teaser inside the article).

    The prose must start within four blocks and no menu may come first. After a teaser heading ("Related stories")
    its list of up to eight bulleted headlines is skipped first: a box of links set inside the article.
    """
    seen = good = 0
    start = i + 1
    if teaser:
        while start < len(blocks) and start - i <= 8 and blocks[start].bullet:
            start += 1
        if start == i + 1 or start - i > 8:
            start = i + 1
    for b in blocks[start:]:
        if b.reason and b.reason.startswith("menu"):
            return False
        if b.cls == GOOD:
            good += 1
            if good >= need:
                return True
        elif good == 0:
            seen += 1
            if seen >= 4:
                return False
        elif b.cls == BAD:
            return False
    return False


def _qa_run(blocks: list[_Block], i: int) -> bool:
    """True when blocks[i:] start a dialogue: 4+ of the next 8 lines carry speaker labels, 2+ speakers alternating."""
    labels = []
    for b in blocks[i : i + 8]:
        m = _SPEAKER_RE.match(b.text)
        if m:
            labels.append(m.group(1).lower())
    counts: dict[str, int] = defaultdict(int)
    for lab in labels:
        counts[lab] += 1
    return len(labels) >= 4 and sum(1 for c in counts.values() if c >= 2) >= 2


def _resolve_context(blocks: list[_Block]) -> None:
    """Decide near-good and short blocks from their neighbours (jusText-style), then set keep."""
    n = len(blocks)
    base = [b.cls for b in blocks]

    def neighbour(i: int, step: int, classes: list[str], skip_soft: bool = False) -> str:
        """Class of the next block that is not short (with skip_soft, also past one block bad by its features)."""
        j = i + step
        skipped = not skip_soft
        while 0 <= j < n:
            if classes[j] == SHORT or blocks[j].credit:  # a credit line does not interrupt the article
                pass
            elif classes[j] == BAD and not skipped and not blocks[j].reason:
                skipped = True
            else:
                return classes[j]
            j += step
        return BAD

    # Near-good blocks next to good ones are article; so is a run of near-good blocks continuing it (short
    # paragraphs of a story written in short paragraphs), in either direction.
    stage = list(base)
    if GOOD not in stage:
        # No ordinary paragraph: the article is a long near-good one (a file that is one long line) or a run of
        # near-good ones (a story told in short paragraphs); the largest such run seeds it.
        near = [i for i, c in enumerate(stage) if c == NEAR]
        runs = [i for i in near if NEAR in (neighbour(i, -1, stage), neighbour(i, 1, stage))]
        seeds = [i for i in near if blocks[i].words >= LONG_PARAGRAPH_WORDS] or runs[:1]
        for i in seeds:
            stage[i] = GOOD
    for i in range(n):
        if stage[i] == NEAR and neighbour(i, -1, stage, True) == GOOD:
            stage[i] = GOOD
    for i in range(n - 1, -1, -1):
        if stage[i] == NEAR and neighbour(i, 1, stage, True) == GOOD:
            stage[i] = GOOD
    stage = [BAD if c == NEAR else c for c in stage]
    # A block that reads as non-prose but sits between two article blocks (a caption, a data line) is article.
    soft = [i for i, c in enumerate(stage) if c == BAD and base[i] == BAD and not blocks[i].reason]
    lifted = [i for i in soft if neighbour(i, -1, stage) == GOOD and neighbour(i, 1, stage) == GOOD]
    for i in lifted:
        stage[i] = GOOD
    final = list(stage)
    for i, c in enumerate(stage):
        if c == SHORT and not blocks[i].reason:
            prev, nxt = neighbour(i, -1, stage), neighbour(i, 1, stage)
            b = blocks[i]
            if prev == GOOD and nxt == GOOD:
                final[i] = GOOD
            elif prev == GOOD and b.terminal and b.words >= 4 and b.stop >= 0.3 and not b.bullet:
                final[i] = GOOD
            else:
                final[i] = BAD
    for b, c in zip(blocks, final, strict=True):
        b.cls = c
        b.keep = c == GOOD and not b.reason


def _main_region(blocks: list[_Block]) -> None:
    """Drop small clusters of prose far from the main article (sidebars, promos)."""
    kept = [i for i, b in enumerate(blocks) if b.keep]
    if not kept:
        return
    clusters: list[list[int]] = [[kept[0]]]
    gaps: list[int] = []  # gaps[k]: lines between cluster k and cluster k + 1
    for a, b in zip(kept, kept[1:], strict=False):
        gap = sum(1 for x in blocks[a + 1 : b] if x.key)  # lines with words: image and bullet marks do not count
        if gap >= 5:
            clusters.append([b])
            gaps.append(gap)
        else:
            clusters[-1].append(b)
    if len(clusters) == 1:
        return
    weights = [sum(blocks[i].words for i in c) for c in clusters]
    top = max(weights)
    t = weights.index(top)
    for k, (c, w) in enumerate(zip(clusters, weights, strict=True)):
        # The lead just above the body or the story resuming after an embedded widget: next to the main cluster,
        # and prose rather than a teaser.
        lead = (k == t - 1 and gaps[k] <= LEAD_GAP and not _teaser_list(blocks, c)
                and any(blocks[i].cls == GOOD and blocks[i].words >= 25 for i in c))
        if w < 0.3 * top and not lead:
            for i in c:
                blocks[i].keep = False
                blocks[i].reason = "isolated text away from the main article (sidebar or promo)"


def _teaser_list(blocks: list[_Block], cluster: list[int]) -> bool:
    """True when a cluster of kept blocks reads as a list of teasers: 2+ paragraphs, each pair split by 2+ lines
    (a headline and a date or author line between summaries), unlike the consecutive paragraphs of a story."""
    if len(cluster) < 2:
        return False
    return all(sum(1 for x in blocks[a + 1 : b] if x.key) >= 2 for a, b in itertools.pairwise(cluster))


_TEASERS = "teaser list (headlines, summaries and dates of other stories)"
# A teaser's age that is not a drop already (dates are "date line" drops, "2 hours ago" a boilerplate one).
_META_HINTS = frozenset(("yesterday", "today", "just now", "gestern", "heute", "hier", "ayer", "hoy"))


def _mark_teaser_units(blocks: list[_Block]) -> None:
    """Two or more teasers in a row, each a headline, a one-paragraph summary and a date, age or author line (in
    either order after the headline), are a list of other stories, also where the rules took a summary as the lead
    of the article below; the line model may not bring them back. A run whose every summary the rules kept (a live
    blog's entries) is left alone.
    """
    from briefing.ingest import metadata

    def meta(b: _Block) -> bool:  # a teaser's date, age or author line ("2 hours ago", "Sept. 14, 2021", "By X")
        return b.words <= 8 and (
            b.reason == "date line" or _TIME_AGO_RE.match(b.text) is not None
            or _DATE_ONLY_RE.match(b.text) is not None or metadata.BYLINE_RE.match(b.text) is not None
        )

    def summary(b: _Block) -> bool:
        return 8 <= b.words <= 60 and not b.reason

    def mark(run: list[int]) -> None:
        if len(run) >= 6 and not all(blocks[j].keep for j in run if blocks[j].words >= 8):
            for j in run:
                blocks[j].reason = _TEASERS
                blocks[j].keep = False
                blocks[j].cls = BAD

    hints = 0  # lines that may be a teaser's date or age (two are needed): most pages have none
    for b in blocks:
        r = b.reason
        if b.words <= 8 and (r == "date line" or b.key in _META_HINTS
                             or (r == "boilerplate phrase" and "ago" in b.key)):
            hints += 1
            if hints >= 2:
                break
    else:
        return
    lines = [i for i, b in enumerate(blocks) if b.key]
    run: list[int] = []  # the blocks of consecutive teasers
    k = 0
    while k + 2 < len(lines):
        h = blocks[lines[k]]
        if (3 <= h.words <= 16 and not h.terminal and not h.bullet and h.reason in (None, _MENU_RUN)
                and (((a := blocks[lines[k + 1]]).words >= 8 and summary(a) and meta(blocks[lines[k + 2]]))
                     or (summary(blocks[lines[k + 2]]) and meta(a)))
                and not (k + 3 < len(lines) and (b := blocks[lines[k + 3]]).words >= 15 and not b.reason)):
            # (prose right after it: the article's own headline, byline and first paragraph)
            run += lines[k : k + 3]
            k += 3
            continue
        if run:
            mark(run)
            run = []
        k += 1
    mark(run)


def _keep_section_lists(blocks: list[_Block]) -> None:
    """Lists under an "Ingredients", "Directions" or "You will need" heading, once the article has begun, are article.

    The items (bullets or lines of up to 25 words, mostly bullets, quantities or sentences) run until a line a hard
    rule dropped, a paragraph, or the next such heading; at least two are needed.
    """
    kept = [i for i, b in enumerate(blocks) if b.keep]
    if not kept:
        return
    i = kept[0] + 1
    while i < len(blocks):
        head = blocks[i]
        if not (head.words <= 6 and head.reason in (None, _MENU_RUN) and _LIST_HEAD_RE.match(head.text)):
            i += 1
            continue
        items: list[int] = []
        j = i + 1
        while j < len(blocks) and len(items) < 40:
            b = blocks[j]
            if b.key:
                if b.reason not in (None, _MENU_RUN) or not (b.bullet or b.words <= 25):
                    break
                if b.words <= 6 and _LIST_HEAD_RE.match(b.text):
                    break
                items.append(j)
            j += 1
        listy = sum(1 for k in items if blocks[k].bullet or blocks[k].terminal or _DIGIT_RE.search(blocks[k].text))
        if len(items) >= 2 and listy >= 0.7 * len(items):
            for k in (i, *items):
                blocks[k].keep = True
                blocks[k].reason = None
                blocks[k].cls = GOOD
        i = j


def _fallback_region(blocks: list[_Block]) -> list[int]:
    """When no block reads as article prose (an agenda, a list-only page), keep the richest run of text blocks.

    The run grows from the block with most running text over neighbours dropped only for their length or shape
    (short lines, list items), and stops at chrome (boilerplate, repeated lines, addresses).
    """
    def open_(b: _Block) -> bool:
        return bool(b.key) and (b.reason is None or (b.reason == _MENU_RUN and not b.bullet))

    def score(b: _Block) -> float:
        return b.words * (0.3 + b.stop) if open_(b) else 0.0

    if not blocks:
        return []
    seed = max(range(len(blocks)), key=lambda i: score(blocks[i]))
    if score(blocks[seed]) < FALLBACK_MIN_SCORE:
        return []
    lo = hi = seed
    while lo > 0 and open_(blocks[lo - 1]) and seed - lo < 30:
        lo -= 1
    while hi + 1 < len(blocks) and open_(blocks[hi + 1]) and hi - seed < 30:
        hi += 1
    out = [i for i in range(lo, hi + 1) if blocks[i].key]
    for i in out:
        blocks[i].keep = True
        blocks[i].reason = None
    return out


def _header(blocks: list[_Block], body_start: int) -> list[int]:
    """Indices of headline, standfirst and byline lines just above the body."""
    out: list[int] = []
    bad_run = in_menu = captions = menu_items = 0
    for i in range(body_start - 1, max(-1, body_start - 16), -1):
        b = blocks[i]
        if b.words < 3 and not b.cjk and b.reason and b.reason.startswith((_MENU_RUN, "repeat")):
            menu_items += 1  # (an item the site's other pages repeat counts too; not in scripts without spaces)
            if out and menu_items >= 3:
                break  # a navigation menu of one- and two-word items above the headline
        elif b.key and not (b.words < 3 and b.reason):
            menu_items = 0
        if _CUTOFF_RE.match(b.text):
            continue  # "Leave a comment", "Share this" under the headline: not a header line
        if b.bullet and b.reason == _MENU_RUN and out:
            break  # the navigation menu above the headline: the header does not reach past it
        if len(out) >= 2 and _TIME_AGO_RE.match(b.text):
            break  # the age of a teaser above the headline and byline ("5 hours ago"): a list of other stories
        if b.words < 3 or (b.cjk and b.chars <= 7 and " " not in b.text) or _SECTION_PATH_RE.match(b.text):
            continue  # share buttons, section labels and paths
        if b.reason in (_PROS_CONS, _SHOP, _EMBED, _WIDGET, _CONSENT) or (b.reason == _CAPTION and b.words <= 12
                                                                         and _CREDIT_RE.search(b.text)):
            continue  # a review's summary boxes, an embedded post or a photo credit between the headline and body
        if b.reason == _CAPTION or (not b.reason and b.words <= 40 and _caption_credit(b.text)):
            captions += 1  # a photo caption with its credit is not the headline (but takes a header line's place)
            if len(out) + captions >= 6:
                break
            continue
        if b.reason == _MENU_RUN and not b.bullet and b.words >= 4 and b.elen >= 20 and b.letters >= 0.6:
            # Headline and standfirst often sit among the short menu and share lines above the body.
            if in_menu >= 2 or _is_boilerplate(b.text.lower()):
                break
            in_menu += 1
            out.append(i)
            continue
        if b.reason and b.reason.startswith("menu") and (b.bullet or bad_run >= 2):
            break
        if b.reason:
            bad_run += 1
            if bad_run >= 5:
                break
            continue
        bad_run = 0
        if b.words < 3 or b.words > 70 or b.letters < 0.6 or (b.bullet and b.words < 8):
            continue
        out.append(i)
        if len(out) + captions >= 6:
            break
    return sorted(out)


_BREADCRUMB_TITLE = "breadcrumb (section path before the headline)"


def _drop_breadcrumb_titles(blocks: list[_Block], header: list[int]) -> list[int]:
    """A header line that is another header line (the headline) after up to five capitalised words ("Home Issues
    Prison official: ..."): a breadcrumb whose separators the dump lost. It is dropped, and the headline stays."""
    texts = [(i, blocks[i].text) for i in header]
    out = []
    for i, t in texts:
        crumb = False
        for j, u in texts:
            if j != i and len(u) >= 20 and len(t) > len(u) and t.endswith(u):
                prefix = t[: len(t) - len(u)].split()
                crumb = 1 <= len(prefix) <= 5 and all(w[:1].isupper() for w in prefix)
                if crumb:
                    break
        if crumb:
            blocks[i].keep = False
            blocks[i].reason = _BREADCRUMB_TITLE
            blocks[i].cls = BAD
        else:
            out.append(i)
    return out


def _rule_pass(
    text: str, repeated: set[str] | None, line_words: list[str] | None, lines: list[str] | None
) -> tuple[list[_Block], int, list[int], str, bool, str | None]:
    """The hand-written rules: (blocks with keep/reason set, cut index, header indices, cut reason, appended, lang)."""
    lang_code, lang_name = detect_language(text)
    stops = stoplist(lang_name) if lang_name else frozenset()
    blocks = _blocks(text, stops, line_words, lines)
    _hard_rules(blocks, repeated or set(), "(@" in text)
    cut, cut_reason, appended = _find_cut(blocks)
    body = blocks[:cut]
    _resolve_context(body)
    _main_region(body)
    _mark_teaser_units(body)
    kept_idx = [i for i, b in enumerate(body) if b.keep]
    if not kept_idx:
        kept_idx = _fallback_region(body)
    _keep_section_lists(body)
    header: list[int] = []
    if kept_idx:
        header = _drop_breadcrumb_titles(body, _header(body, kept_idx[0]))
        for i in header:
            body[i].keep = True
    for b in blocks[cut:]:
        b.keep = False
        b.reason = f"after the article: {cut_reason}"
    return blocks, cut, header, cut_reason, appended, lang_code


def clean_text(
    text: str, repeated: set[str] | None = None, line_words: list[str] | None = None, lines: list[str] | None = None
) -> tuple[list[_Block], list[int], list[Dropped], list[str], str | None]:
    """Clean one text dump: returns (blocks, header indices, dropped blocks, flags, language code).

    The header (headline, standfirst, byline lines the rules found above the body) feeds the metadata even when the
    line model leaves a line of it out of the text.

    The rules decide first; the learned line model (briefing/ingest/linemodel.py) then re-decides every block from
    the rules' verdicts and the block's features and context. A page it would empty keeps the rules' verdicts.
    """
    blocks, cut, header, cut_reason, appended, lang_code = _rule_pass(text, repeated, line_words, lines)
    rule_keep = [b.keep for b in blocks]
    model = linemodel.load()
    if model is not None and blocks and model.features == FEATURE_NAMES:
        rows = open_blocks(blocks, cut, appended)
        probs = [0.0] * len(blocks)
        for i, p in zip(rows, model.predict(line_features(blocks, cut, header, lang_code, rows)), strict=True):
            probs[i] = p
        keep = model_verdicts(blocks, probs, model.drop_below, model.keep_above, cut, appended, header)
        if any(keep):
            for b, k in zip(blocks, keep, strict=True):
                if k and not b.keep:
                    b.keep = True
                elif b.keep and not k:
                    b.keep = False
                    b.reason = _model_reason(b)
    flags: list[str] = []
    dropped: list[Dropped] = []
    for b in blocks:
        if not b.keep:
            dropped.append(Dropped(b.text, b.reason or _soft_reason(b), b.start, b.end))
    tail = [b for b, k in zip(blocks[cut:], rule_keep[cut:], strict=True) if not k and not b.keep]
    if appended and any(b.words >= 12 and b.stop >= STOP_LOW for b in tail):
        flags.append("appended_content_removed")
    return blocks, header, dropped, flags, lang_code


# Reason categories of the rules, in the order of their one-hot features (see line_features).
_REASON_KINDS = (
    ("repeats line", "repeated in other files", "not prose", "contact address", "boilerplate phrase", "date line",
     "category or keyword list", "menu or link list", "isolated text", "after the article", "teaser link")
)
FEATURE_NAMES = (
    "rule_keep", "header", "after_cut", *(f"reason:{k}" for k in _REASON_KINDS), "soft_drop",
    "base_good", "base_near", "base_short", "ctx_good", "log_words", "elen", "stop", "letters", "terminal", "bullet",
    "colon_end", "cjk", "rel_pos", "dist_kept", "in_span", "before_span", "after_span", "dist_densest",
    "before_densest", "prev_keep", "next_keep", "prev_stop", "next_stop", "prev_words", "next_words", "window_keep",
    "lang_en", "upper_start", "words_vs_max", "teaser", "quote_start", "separators", "keep_x_words", "keep_x_stop",
    "drop_x_inspan", "drop_x_neighbours", "dist_prev_kept", "dist_next_kept", "sandwiched", "tight_sandwich",
    "repeat_of_dropped", "heading_like", "heading_x_next_keep", "bullet_run", "bullet_x_sandwiched", "caption_credit",
    "run_after_colon", "run_prev_kept", "between_kept", "short_between_kept", "indent_off", "indent_deeper",
    "keep_x_indent_off", "dist_long", "heading_between_long", "vocab_overlap", "drop_x_overlap",
)
_SEPARATOR_RE = re.compile(r"[|»›•·]")
LONG_KEPT_WORDS = 30  # a kept paragraph this long anchors the article body (feature dist_long)
_QUOTES = frozenset("\"“„«'‘")


_REASON_VECTORS: dict[str, list[float]] = {}


def _reason_vector(reason: str) -> list[float]:
    """One-hot of a drop reason over _REASON_KINDS (memoised: reasons repeat from block to block)."""
    v = _REASON_VECTORS.get(reason)
    if v is None:
        if len(_REASON_VECTORS) > 4096:
            _REASON_VECTORS.clear()
        v = _REASON_VECTORS[reason] = [1.0 if reason.startswith(k) else 0.0 for k in _REASON_KINDS]
    return v


def _first_line(reason: str) -> int:
    """The line number in a 'repeats line N' reason."""
    return int(reason.rsplit(" ", 1)[-1])


def open_blocks(blocks: list[_Block], cut: int, appended: bool) -> list[int]:
    """Indices of the blocks the line model decides: all but the hard-rule drops and what follows a sign-off."""
    end = cut if appended else len(blocks)
    return [
        i for i in range(end)
        if blocks[i].keep or not (
            (blocks[i].reason or "").startswith(_HARD_REASONS)
            or (blocks[i].bullet and (blocks[i].reason or "").startswith("repeats line"))  # a menu item, again
        )
    ]


def line_features(
    blocks: list[_Block], cut: int, header: list[int], lang: str | None, rows: list[int] | None = None
) -> list[list[float]]:
    """One feature vector (FEATURE_NAMES) per block, or per block of `rows`: the rules' verdict and reason, the
    block's own shape and its position relative to the article body the rules found (the kept span, its densest
    block, the nearest kept blocks)."""
    n = len(blocks)
    hdr = set(header)
    keep = [1.0 if b.keep else 0.0 for b in blocks]
    kept = [i for i in range(n) if keep[i]]
    first, last = (kept[0], kept[-1]) if kept else (n, -1)
    densest = max(kept, key=lambda i: blocks[i].words * (0.3 + blocks[i].stop)) if kept else n // 2
    max_words = max((b.words for b in blocks), default=1) or 1
    # distance (in blocks) to the previous and to the next kept block (n when there is none)
    dprev = [float(n)] * n
    dnext = [float(n)] * n
    d = float(n)
    for i in range(n):
        d = 0.0 if keep[i] else d + 1
        dprev[i] = d
    d = float(n)
    for i in range(n - 1, -1, -1):
        d = 0.0 if keep[i] else d + 1
        dnext[i] = d
    dist = [min(a, b) for a, b in zip(dprev, dnext, strict=True)]
    cum = [0.0, *itertools.accumulate(keep)]
    index_at = {b.start: i for i, b in enumerate(blocks)}
    # Both nearest neighbours kept (credits and inline teaser links skipped): a line inside the article's run
    between = [0.0] * n
    between_long = [0.0] * n
    for i in range(1, n - 1):
        before, after = i - 1, i + 1
        while before > 0 and blocks[before].credit:
            before -= 1
        while after < n - 1 and blocks[after].credit:
            after += 1
        between[i] = keep[before] * keep[after]
        # a subheading: a short line between two kept paragraphs of 20+ words
        between_long[i] = between[i] * (blocks[before].words >= 20 and blocks[after].words >= 20)
    # For a block in a run of dropped blocks with the same reason (a list): what precedes the run
    run_colon = [0.0] * n
    run_kept = [0.0] * n
    for i in range(n):
        r = blocks[i].reason
        if keep[i] or i == 0:
            continue
        if r is not None and blocks[i - 1].reason == r and not keep[i - 1]:
            run_colon[i], run_kept[i] = run_colon[i - 1], run_kept[i - 1]
        else:
            run_colon[i] = 1.0 if blocks[i - 1].text[-1] == ":" else 0.0
            run_kept[i] = keep[i - 1]
    # The body's indentation: the one that carries most words of the kept paragraphs
    indent_words: dict[int, int] = defaultdict(int)
    for i in kept:
        if blocks[i].words >= 15:
            indent_words[blocks[i].indent] += blocks[i].words
    body_indent = max(indent_words, key=indent_words.__getitem__) if indent_words else -1
    # distance (in blocks) to the nearest kept paragraph of LONG_KEPT_WORDS+ words; kept words near each block
    dlong = [float(n)] * n
    d = float(n)
    for i in range(n):
        d = 0.0 if keep[i] and blocks[i].words >= LONG_KEPT_WORDS else d + 1
        dlong[i] = d
    d = float(n)
    for i in range(n - 1, -1, -1):
        d = 0.0 if keep[i] and blocks[i].words >= LONG_KEPT_WORDS else d + 1
        dlong[i] = min(dlong[i], d)
    # The article's vocabulary: the words (3+ letters, not stopwords) of the kept blocks; for a kept block, only those
    # another kept block also has (its own words left out).
    stops = blocks[0].stops if blocks else frozenset()
    row_set = set(range(n) if rows is None else rows)
    vocab = {i: _vocab(blocks[i], stops) for i in row_set.union(kept)}
    in_kept = Counter(itertools.chain.from_iterable(vocab[i] for i in kept))
    body_words = set(in_kept)
    shared_words = {w for w, c in in_kept.items() if c > 1}
    en = 1.0 if lang == "en" else 0.0
    # stopword density (computed on demand by the block) of the rows and their neighbours only
    stop = [0.0] * n
    for i in row_set:
        for j in (i - 1, i, i + 1):
            if 0 <= j < n and not stop[j]:
                stop[j] = blocks[j].stop
    logw = [math.log1p(b.words) / 5 for b in blocks]
    no_kind = [0.0] * len(_REASON_KINDS)
    out: list[list[float]] = []
    for i in range(n) if rows is None else rows:
        b = blocks[i]
        r = b.reason
        kinds = _reason_vector(r) if r else no_kind
        k = keep[i]
        has_p, has_q = i > 0, i + 1 < n
        lw = logw[i]
        in_span = 1.0 if first <= i <= last else 0.0
        lo, hi = max(0, i - 3), min(n, i + 4)
        window = (cum[hi] - cum[lo] - k) / max(1, hi - lo - 1)
        pk = keep[i - 1] if has_p else 0.0
        qk = keep[i + 1] if has_q else 0.0
        txt = b.text
        head = txt[:1]
        short = b.words <= 12
        sandwiched = 1.0 if not k and dprev[i] < n and dnext[i] < n else 0.0
        heading = 1.0 if short and not b.terminal and head.isupper() and not b.bullet else 0.0
        off = 1.0 if body_indent >= 0 and b.indent != body_indent else 0.0
        bullet_run = 1.0 if b.bullet and ((has_p and blocks[i - 1].bullet) or (has_q and blocks[i + 1].bullet)) else 0.0
        out.append([
            k, 1.0 if i in hdr else 0.0, 1.0 if i >= cut else 0.0, *kinds, 1.0 if not k and not r else 0.0,
            1.0 if b.base == GOOD else 0.0, 1.0 if b.base == NEAR else 0.0, 1.0 if b.base == SHORT else 0.0,
            1.0 if b.cls == GOOD else 0.0, lw, min(b.elen, 1000) / 500, stop[i], b.letters,
            1.0 if b.terminal else 0.0, 1.0 if b.bullet else 0.0, 1.0 if txt[-1] == ":" else 0.0,
            b.cjk / b.chars, i / max(1, n - 1), math.log1p(dist[i]) / 3, in_span,
            1.0 if i < first else 0.0, 1.0 if i > last else 0.0, math.log1p(abs(i - densest)) / 4,
            1.0 if i < densest else 0.0, pk, qk,
            stop[i - 1] if has_p else 0.0, stop[i + 1] if has_q else 0.0, logw[i - 1] if has_p else 0.0,
            logw[i + 1] if has_q else 0.0, window, en, 1.0 if head.isupper() else 0.0,
            b.words / max_words, 1.0 if short and not r and _TEASER_RE.search(txt) else 0.0,
            1.0 if head in _QUOTES else 0.0, min(5, len(_SEPARATOR_RE.findall(txt))) / 5 if short else 0.0,
            k * lw, k * stop[i], (1 - k) * in_span, (1 - k) * (pk + qk) / 2,
            math.log1p(min(dprev[i], 50)) / 4, math.log1p(min(dnext[i], 50)) / 4, sandwiched,
            1.0 if sandwiched and dprev[i] <= 2 and dnext[i] <= 2 else 0.0,
            1.0 if r and r.startswith("repeats line") and not keep[index_at.get(_first_line(r), i)] else 0.0,
            heading, heading * qk, bullet_run, bullet_run * sandwiched,
            1.0 if b.words <= 60 and _caption_credit(txt) else 0.0, run_colon[i], run_kept[i],
            between[i], between[i] if short else 0.0, off, 1.0 if body_indent >= 0 and b.indent > body_indent else 0.0,
            k * off, math.log1p(min(dlong[i], 12)) / 2.6,
            between_long[i] if b.words <= 8 and not b.terminal and not b.bullet else 0.0,
            overlap := (len(v & (shared_words if k else body_words)) / len(v) if (v := vocab[i]) else 0.0),
            (1 - k) * overlap,
        ])
    return out


def _vocab(b: _Block, stops: frozenset[str]) -> set[str]:
    """A block's content words: 3+ letters and not stopwords; for Chinese, Japanese and Korean (no spaces between
    words, or particles attached to them), its character bigrams, so the overlap with the article means the same."""
    if b.cjk > b.chars / 3:
        chars = "".join(b.key.split())
        return {chars[k : k + 2] for k in range(len(chars) - 1)}
    return {w for w in set(b.key.split()).difference(stops) if len(w) >= 3}


HEADER_FLOOR = 0.15  # probability under which even the headline and byline the rules found are dropped
def headline_and_byline(blocks: list[_Block], header: Sequence[int]) -> list[int]:
    """Of the header lines the rules found above the body, the one the metadata takes as headline and the bylines."""
    from briefing.ingest import metadata

    title = metadata.title_line([blocks[i].text for i in header])
    return [i for i in header
            if blocks[i].text == title or (blocks[i].words <= 12 and metadata.BYLINE_RE.match(blocks[i].text))]


# Rules the model cannot overrule: chrome phrases, lines repeated across a site's pages, symbols, addresses.
_HARD_REASONS = (
    "boilerplate phrase", "repeated in other files", "not prose", "contact address", "menu or link list (items on one",
    "teaser link", "category or keyword list", _RELATED_BOX, _EMBED, _TEASERS,
    _PROS_CONS, _SHOP, _WIDGET, _CAPTION, _CONSENT, _BREADCRUMB_TITLE,
)


def model_verdicts(
    blocks: list[_Block], probs: list[float], drop_below: float, keep_above: float, cut: int, appended: bool,
    header: Sequence[int] = (),
) -> list[bool]:
    """Overrule the rules where the model is confident, within limits the rules set for certain.

    A block the rules kept goes when its probability is under drop_below; one they dropped returns when it is at
    least keep_above. Hard-rule drops stay dropped (see open_blocks); the headline and bylines among the header
    lines stay unless the probability is under HEADER_FLOOR. Nothing after a sign-off, a new dateline or a
    transcript returns. After an end marker (related, comments, ©) the model may bring back only article text that
    continues the body: each revived block follows the cut or a revived block with at most one dropped line between.
    """
    keep = [p >= drop_below if b.keep else p >= keep_above for b, p in zip(blocks, probs, strict=True)]
    closed = set(range(len(blocks))) - set(open_blocks(blocks, cut, appended))
    for i in closed:
        keep[i] = False
    for i in headline_and_byline(blocks, header):  # unless the model is sure they are not (a teaser, a label)
        keep[i] = keep[i] or probs[i] >= HEADER_FLOOR
    _keep_subheadings(blocks, keep, closed)
    if appended:
        keep[cut:] = [False] * (len(blocks) - cut)
        return keep
    gap = 0
    for i in range(cut, len(blocks)):
        if gap >= 2:
            keep[i] = False
        elif keep[i]:
            gap = 0
        elif blocks[i].key:
            gap += 1
    return keep


def _keep_subheadings(blocks: list[_Block], keep: list[bool], closed: set[int]) -> None:
    """A subheading inside the article stays: a short line (up to 7 words, no comma, unpunctuated or a question)
    that starts with a capital and that no rule gave a reason to drop (nor reads as an end marker or a teaser
    heading), after the body has begun, between a kept block and a kept paragraph of 12+ words (the section it
    heads)."""
    n = len(blocks)
    # from the first kept paragraph of 20+ words on: the body has begun (not its header)
    start = next((i for i, b in enumerate(blocks) if keep[i] and b.words >= 20), n)
    for i in range(start + 1, n):
        b = blocks[i]
        if (keep[i] or b.words > 7 or i in closed or b.reason or not b.key or b.bullet
                or not b.text[0].isupper() or "," in b.text or (b.terminal and not b.text.endswith("?"))
                or _CUTOFF_RE.match(b.text) or _TEASER_RE.search(b.text)):
            continue
        p = i - 1
        while p >= 0 and not blocks[p].key:
            p -= 1
        q = i + 1
        while q < n and not blocks[q].key:
            q += 1
        if p >= 0 and q < n and keep[p] and keep[q] and blocks[q].words >= 12 and not blocks[q].bullet:
            keep[i] = True


def _model_reason(b: _Block) -> str:
    """Explain a block the rules kept and the line model dropped, by its most telling feature."""
    if b.words <= 12 and _TEASER_RE.search(b.text):
        return "line model: teaser or 'read more' link"
    if b.words < 4 or b.elen < LENGTH_LOW:
        return "line model: short line away from the article prose"
    if b.stop < STOP_LOW:
        return f"line model: few function words ({b.stop:.0%})"
    return "line model: prose-like line outside the article body"


def _soft_reason(b: _Block) -> str:
    """Explain a drop decided by the length/stopword/context classifier."""
    if b.words < 4 or b.elen < LENGTH_LOW:
        return "short line not inside article prose"
    if b.stop < STOP_LOW:
        return f"few function words ({b.stop:.0%}): not running prose"
    return "prose-like line surrounded by boilerplate"


def machine_translation_signals(text: str) -> list[str]:
    """Evidence that an English text is a machine translation (agency tags in another script, translation artifacts)."""
    found: list[str] = []
    for line in text.split("\n") if _NON_SPACED_RE.search(text) else []:
        s = line.strip()
        if s and len(s) <= 60 and _NON_SPACED_RE.search(s) and _SIGNOFF_RE.match(s):
            found.append(f"agency tag in another script: {s}")
    low = text.lower()
    for quick, rx in zip(_MT_QUICK, _MT_ARTIFACTS, strict=True):
        if quick.search(low) and rx.search(low):
            found.append(f"translation artifact: {rx.pattern[:30]}")
    return found


def clean_document(raw: RawDoc, repeated: set[str] | None = None, line_words: list[str] | None = None) -> CleanedDoc:
    """Clean one document (text dump or HTML); never raises on odd input."""
    from briefing.ingest import metadata

    try:
        if raw.is_html:
            return _clean_html(raw)
        lines = normalised_lines(raw.text)
        body, header, dropped, flags, lang = clean_text(raw.text, repeated, line_words, lines)
        kept = [b for b in body if b.keep]
        text = "\n\n".join(b.text for b in kept)
        header_lines = [body[i].text for i in header]
        meta = metadata.extract(raw.text, header_lines, text, language=lang, lines=lines)
        signals = machine_translation_signals(raw.text)
        if meta.language == "en" and len(signals) >= 2:
            flags.insert(0, "machine_translated")
        return CleanedDoc(
            path=raw.path,
            text=text,
            sha256=raw.sha256,
            title=meta.title or raw.title,  # feed entries carry their own metadata: a fallback
            authors=meta.authors or list(raw.authors),
            publisher=meta.publisher,
            original_publisher=meta.original_publisher,
            published=raw.published or meta.published,  # a feed entry's own date is exact: it wins
            language=meta.language,
            url=meta.url or (raw.path if raw.path.startswith(("http://", "https://")) else None),
            flags=flags,
            dropped=dropped,
        )
    except ImportError:
        raise  # a broken install is not bad input: fail loudly instead of passing page chrome through
    except Exception as exc:  # noqa: BLE001 - the cleaner must never take the run down
        return CleanedDoc(
            path=raw.path,
            text=raw.text.strip(),
            sha256=raw.sha256,
            flags=["cleaner_failed"],
            dropped=[Dropped("", f"cleaner failed ({type(exc).__name__}); text kept as is", 0, 0)],
        )


def _clean_html(raw: RawDoc) -> CleanedDoc:
    """Extract the article of an HTML page with trafilatura, then clean the result like a dump."""
    import logging

    import trafilatura

    from briefing.ingest import metadata

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = trafilatura.bare_extraction(
            raw.text,
            url=raw.path if raw.path.startswith(("http://", "https://")) else None,
            include_comments=False,
            include_tables=True,
            with_metadata=True,
            favor_precision=False,
            # dates from the page's markup only: htmldate's extensive search turns "in 2024" in the text into an
            # exact-looking 2024-01-01, a guessed day presented as exact
            date_extraction_params={"original_date": True, "extensive_search": False,
                                    "max_date": datetime.date.today().isoformat()},
        )
    body_text = ""
    title = author = date = site = url = lang = None
    if doc is not None and not isinstance(doc, dict):
        body_text = doc.text or ""
        title, author, date, site, url = doc.title, doc.author, doc.date, doc.sitename, doc.url
        lang = getattr(doc, "language", None)
    if not body_text.strip():
        from lxml import html as lxml_html

        try:
            tree = lxml_html.fromstring(raw.text)
            for bad in tree.xpath("//script|//style|//noscript"):
                bad.drop_tree()
            body_text = "\n".join(t.strip() for t in tree.itertext() if t.strip())
        except Exception:  # noqa: BLE001 - malformed HTML falls back to the raw text
            body_text = raw.text
    paragraphs = [" ".join(p.split()) for p in body_text.split("\n") if p.strip()]
    text = "\n\n".join(paragraphs)
    meta = metadata.extract(text, [title] if title else [], text)
    authors = metadata.split_authors(author) if author else meta.authors
    published = date if date and re.match(r"^\d{4}-\d{2}-\d{2}$", date) else meta.published
    language = lang or detect_language(text)[0]
    flags = ["machine_translated"] if language == "en" and len(machine_translation_signals(text)) >= 2 else []
    return CleanedDoc(
        path=raw.path,
        text=text,
        sha256=raw.sha256,
        title=title or meta.title or raw.title,
        authors=authors or list(raw.authors),
        publisher=site or meta.publisher,
        original_publisher=meta.original_publisher,
        published=raw.published or published,  # a feed entry's own date is exact: it wins
        language=language,
        url=url or meta.url,
        flags=flags,
        dropped=[Dropped("(HTML markup, navigation and boilerplate)", "removed by HTML article extraction", 1, 1)],
    )


def _key_words(key: str) -> int:
    """Words in a repetition key: spaced words, and about one per 1.5 ideographs or kana (Chinese, Japanese)."""
    n = key.count(" ") + 1
    return n if n >= 25 else n + (2 * len(_HAN_KANA_RE.findall(key))) // 3


def repeated_keys(raws: list[RawDoc], line_words: list[list[str] | None] | None = None) -> list[set[str]]:
    """For each document, the block keys that also occur in another (non-copy) document of the batch."""
    keysets: list[set[str]] = []
    long_keys: list[set[str]] = []
    for d, raw in enumerate(raws):
        ks: set[str] = set()
        lk: set[str] = set()
        if not raw.is_html:
            words = line_words[d] if line_words else None
            ks = set(_line_keys(raw.text, words if words is not None else _line_words(raw.text)))
            ks.discard("")
            lk = {k for k in ks if _key_words(k) >= 25}
        keysets.append(ks)
        long_keys.append(lk)
    index: dict[str, list[int]] = defaultdict(list)
    for d, ks in enumerate(keysets):
        for k in ks:
            index[k].append(d)
    same_bytes: dict[str, list[int]] = defaultdict(list)
    for d, raw in enumerate(raws):
        same_bytes[raw.sha256].append(d)
    out: list[set[str]] = []
    for d, ks in enumerate(keysets):
        shared: dict[int, int] = defaultdict(int)
        for k in long_keys[d]:
            for e in index[k]:
                if e != d:
                    shared[e] += 1
        copies = {e for e, c in shared.items() if c >= 2 and c >= 0.3 * len(long_keys[d])}
        copies |= set(same_bytes[raws[d].sha256])
        copies.add(d)  # a key is repeated when a document outside `copies` (d and its copies) also has it
        out.append({k for k in ks if len(index[k]) > len(copies) or not copies.issuperset(index[k])})
    return out


def clean_documents(raws: list[RawDoc]) -> list[CleanedDoc]:
    """Clean a batch (same order as input), using blocks repeated across files of a site.

    If that cross-file check fails, each file is cleaned on its own and flagged `cross_file_check_failed` (the
    pipeline warns). Same-event reports are grouped afterwards, by ingest.dedup.mark_duplicates.
    """
    return list(iter_clean_documents(raws))


def iter_clean_documents(raws: list[RawDoc], start: int = 0) -> Iterator[CleanedDoc]:
    """clean_documents, each document yielded as soon as it is cleaned (a model run sends its summary request
    meanwhile); the cross-file check runs first, over the whole batch. `start`: the documents before it are not
    cleaned again (ingest.ahead's child process did them)."""
    words: list[list[str] | None] = [None if raw.is_html else _line_words(raw.text) for raw in raws]
    try:
        repeated = repeated_keys(raws, words)
        failed = False
    except Exception:  # noqa: BLE001 - an extra signal: never lose the batch over it, but say so
        repeated = [set() for _ in raws]
        failed = True
    for raw, rep, w in itertools.islice(zip(raws, repeated, words, strict=True), start, None):
        doc = clean_document(raw, rep, w)
        if failed:
            doc.flags.append("cross_file_check_failed")
        yield doc

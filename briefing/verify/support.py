"""Does a claim say what its cited sentences say? Numbers, dates, names, roles, polarity and word coverage -> support.

Everything is checked against exactly the cited sentences. Names may also come from the source's metadata (title,
authors, publisher) and, when a cited sentence refers back ("he", "the company"), from the two sentences before
it. Names are found without relying on the claim's capital letters: a word is a name if the cited source writes it
capitalised mid-sentence (so lower-cased claims are checked too), or if the claim itself capitalises it mid-sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from briefing.hangul import same_korean_word
from briefing.sentences import split_sentences
from briefing.text import STOPWORDS as _STOPWORDS
from briefing.verify.facts import _SCALES, _SMALL, _content_words, _numbers, _stem
from briefing.verify.quotes import _CITATION_MARK

# Calibrated on tests/fixtures/claims (tune half; see bench/verify_eval.py for the table on both halves).
MIN_COVERAGE = 0.5  # share of the claim's content words that the cited sentences must contain
MIN_SOURCE_COVERAGE = 0.15  # share each cited source's own sentences must cover (multi-source claims)
HARD_PENALTY = 0.5  # support is multiplied by this for each number/date/name/role/polarity problem

_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)  # "U.S." is one word

# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Tok:
    """A word of a text: lower-cased form (possessive dropped), as written, and whether it opens a sentence."""

    low: str
    raw: str
    initial: bool
    joined: bool = False  # only white space between this word and the previous one
    possessive: bool = False  # written with 's


_BREAK = re.compile(r"[.!?:;。！？\n]|[\"“‘(]\s*$")


def _tokenize(text: str) -> tuple[_Tok, ...]:
    """Words of a text in order, citation markers removed; 'initial' marks the first word of each sentence."""
    if "[" in text:
        text = _CITATION_MARK.sub(" ", text)
    out: list[_Tok] = []
    prev_end = 0
    search = _BREAK.search
    for m in _TOKEN.finditer(text):
        start = m.start()
        initial = not out or (start > prev_end + 1 and search(text, prev_end, start) is not None) or (
            start == prev_end + 1 and text[prev_end] in ".!?:;。！？\n\"“‘(")
        raw = m.group(0)
        possessive = raw.endswith(("'s", "’s"))
        if possessive:
            raw = raw[:-2]
        elif raw.endswith("."):
            raw = raw[:-1]
        joined = bool(out) and text[prev_end:start].isspace()
        out.append(_Tok(raw.lower().replace("’", "'"), raw, initial, joined, possessive))
        prev_end = m.end()
    return tuple(out)


# Claims, sentences and evidence, cached. A whole source's tokens are kept only for the few sources being checked
# (_source_tokens); what is derived from them stays cached (_vocab, _lower_words, _capitalised_words): 1,000
# sources' token tuples in the big cache took the 1,000-article batch bench from 378 to 576 MB peak.
_tokens = lru_cache(maxsize=4096)(_tokenize)
_source_tokens = lru_cache(maxsize=16)(_tokenize)


def _match(a: str, b: str) -> bool:
    """Same word, or the same root (Russia/Russian, Korea/Korean, Canada/Canadian, China/Chinese; Korean words
    whatever their particle or verb ending: 캐나다는/캐나다가, 규탄했다/규탄하고)."""
    if a == b:
        return True
    if a[:1] >= "\uac00" and b[:1] >= "\uac00" and same_korean_word(a, b):
        return True
    if min(len(a), len(b)) < 4:
        return False
    return b.startswith(a[: max(4, len(a) - 3)]) or a.startswith(b[: max(4, len(b) - 3)])


def _has(word: str, vocab: set[str]) -> bool:
    return word in vocab or any(_match(word, v) for v in vocab if v[:2] == word[:2])


@lru_cache(maxsize=512)
def _vocab(text: str) -> frozenset[str]:
    """Lower-cased words of a text (cached: a source is checked for many claims)."""
    return frozenset(t.low for t in _source_tokens(text))


@lru_cache(maxsize=512)
def _lower_words(text: str) -> frozenset[str]:
    """Words a text writes in lower case somewhere."""
    return frozenset(t.low for t in _source_tokens(text) if t.raw[:1].islower())


@lru_cache(maxsize=512)
def _lower(text: str) -> str:
    return text.lower()


# Words that open sentences in news without being names.
_OPENERS = frozenset("""however meanwhile instead indeed still yet officials experts analysts critics observers
    both each many several some most others one two three last next first second third finally further moreover
    furthermore nonetheless nevertheless crucially certainly clearly unfortunately despite although while though
    since after before during under over according like unlike as given having being""".split())


@lru_cache(maxsize=512)
def _capitalised_words(text: str) -> frozenset[str]:
    """Words the text writes capitalised mid-sentence (at least 3 in 4 times): names, places, organisations."""
    cap: dict[str, int] = {}
    low: dict[str, int] = {}
    initial: set[str] = set()
    for t in _source_tokens(text):
        if t.low in _STOPWORDS or len(t.low) < 2 or t.low.isdigit():
            continue
        if t.initial:
            if t.raw[0].isupper():
                initial.add(t.low)
        elif t.raw[0].isupper():
            cap[t.low] = cap.get(t.low, 0) + 1
        elif t.raw[0].islower():
            low[t.low] = low.get(t.low, 0) + 1
    names = {w for w, n in cap.items() if n >= 3 * low.get(w, 0)}
    return frozenset(names | {w for w in initial if w not in low and w not in _OPENERS and not w.endswith("ly")})


# --------------------------------------------------------------------------- numbers

_VAGUE = [  # quantity phrases without digits, as value ranges
    (re.compile(r"\bhalf a million\b"), 5e5, 5e5),
    (re.compile(r"\bhalf a billion\b"), 5e8, 5e8),
    (re.compile(r"\b(?:several|a few) hundred\b"), 200, 1000),
    (re.compile(r"\b(?:several|a few) thousand\b"), 2000, 10000),
    (re.compile(r"\b(?:several|a few) million\b"), 2e6, 1e7),
    (re.compile(r"\b(?:several|a few) billion\b"), 2e9, 1e10),
    (re.compile(r"\bhundreds of thousands\b"), 2e5, 999_999),
    (re.compile(r"\btens of thousands\b"), 2e4, 99_999),
    (re.compile(r"\bhundreds of millions\b"), 2e8, 999_999_999),
    (re.compile(r"\btens of millions\b"), 2e7, 99_999_999),
    (re.compile(r"\bdozens\b"), 24, 199),
    (re.compile(r"\bscores of\b"), 40, 199),
    (re.compile(r"\bhundreds\b"), 200, 999),
    (re.compile(r"\bthousands\b"), 2000, 999_999),
    (re.compile(r"\bmillions\b"), 2e6, 999_999_999),
    (re.compile(r"\bbillions\b"), 2e9, 999e9),
    (re.compile(r"\b(?:a|one) dozen\b"), 12, 12),
    (re.compile(r"\b(?:a|one) hundred\b(?! (?:thousand|million|billion))"), 100, 100),
    (re.compile(r"\b(?:a|one) thousand\b"), 1000, 1000),
    (re.compile(r"\b(?:a|one) million\b"), 1e6, 1e6),
    (re.compile(r"\b(?:a|one) billion\b"), 1e9, 1e9),
]


@dataclass(frozen=True)
class Quantity:
    """A number in text: how it is written, the range of values it stands for, and what it counts."""

    shown: str
    lo: float
    hi: float
    exact: frozenset[float] = frozenset()
    is_year: bool = False
    hedged: bool = False  # "about", "nearly", "more than" ...: a rounding is fine
    unit: str = ""  # stem of the word it counts ("troops" in "12,000 North Korean troops"), if one follows


_HEDGE = re.compile(r"\b(?:about|nearly|almost|around|roughly|some|approximately|over|under|more than|less than|"
                    r"fewer than|up to|close to|estimated|an estimated|at least|at most|just over|just under|"
                    r"upwards of|as many as|as much as)\W*$")
_UNIT_SKIP = frozenset("of more than over about nearly some percent per cent additional new other".split())


def _unit(low: str, end: int) -> str:
    """The counted word after a number: the first content word within the next three words."""
    for w in re.findall(r"[^\W\d_]+(?:['’][^\W_]+)*", low[end : end + 60])[:3]:
        if w in _STOPWORDS or w in _UNIT_SKIP or w in _SCALE_WORDS:
            continue
        return _stem(w)
    return ""


_NUMBER_WORDS = frozenset(_SMALL) | frozenset(_SCALES) | frozenset("dozen dozens hundreds thousands millions "
                                                                  "billions".split())
_SCALE_WORDS = frozenset("hundred thousand million billion trillion hundreds thousands millions billions dozen "
                         "dozens".split())


def quantities(text: str) -> list[Quantity]:
    """Numbers in a text: digits ("12,000", "1.5 million"), number words ("three", "twelve thousand") and vague
    quantities ("dozens", "hundreds of thousands", "a million"). Citation markers are not numbers."""
    low = _CITATION_MARK.sub(lambda m: " " * len(m.group(0)), text.lower())
    found: list[tuple[int, int, Quantity]] = []
    covered: list[tuple[int, int]] = []
    for pat, lo, hi in _VAGUE:
        for m in pat.finditer(low):
            if any(s <= m.start() < e for s, e in covered):
                continue
            covered.append((m.start(), m.end()))
            exact = frozenset({lo}) if lo == hi else frozenset()
            found.append((m.start(), m.end(), Quantity(m.group(0), lo, hi, exact)))
    rest = low
    for s, e in covered:
        rest = rest[:s] + " " * (e - s) + rest[e:]
    cursor = 0
    for n in _numbers(rest):
        at = rest.find(n.shown.lower(), cursor)
        if at < 0:
            at = cursor
        end = at + len(n.shown)
        cursor = end
        vals = sorted(n.values)
        found.append((at, end, Quantity(n.shown, vals[0], vals[-1], frozenset(n.values), n.is_year)))
    out = []
    for start, end, q in sorted(found, key=lambda x: x[0]):
        hedged = _HEDGE.search(low[max(0, start - 25) : start]) is not None
        out.append(Quantity(q.shown, q.lo, q.hi, q.exact, q.is_year, hedged, "" if q.is_year else _unit(low, end)))
    return out


def _agrees(q: Quantity, ev: list[Quantity]) -> bool:
    """A claim quantity is backed by an evidence one: same value, overlapping range, or (hedged) a rounding of it."""
    for e in ev:
        if q.exact & e.exact:
            return True
        if not q.exact and not e.exact:  # two vague quantities: their ranges must overlap
            if q.lo <= e.hi and e.lo <= q.hi:
                return True
            continue
        if not q.exact or not e.exact:  # vague against exact: one of the values in the range
            rng, vals = (q, e.exact) if not q.exact else (e, q.exact)
            if any(rng.lo <= v <= rng.hi for v in vals):
                return True
            continue
        if not (q.hedged or e.hedged):
            continue
        for v in q.exact:
            for w in e.exact:
                if w and v != w and abs(v - w) <= 0.1 * abs(w) and _rounder(v, w):
                    return True
    return False


def _miscounts(q: Quantity, ev: list[Quantity]) -> bool:
    """The claim's number counts something the cited sentences count with a different number (and never this one)."""
    if not q.unit:
        return False
    agreeing = [e for e in ev if _agrees(q, [e])]
    if any(not e.unit or e.unit == q.unit for e in agreeing):
        return False
    return any(e.unit == q.unit for e in ev if e not in agreeing)


def _rounder(v: float, w: float) -> bool:
    """Whether v is w rounded to fewer significant digits (500 for 498, 1.2 million for 1,230,000)."""
    def sig(x: float) -> int:
        s = f"{x:.6g}".replace(".", "").replace("-", "").lstrip("0").rstrip("0")
        return len(s)
    return sig(v) < sig(w)


# --------------------------------------------------------------------------- dates

_MONTHS = frozenset("""january february march april june july august september october november december jan feb
    mar apr jun jul aug sep sept oct nov dec""".split())
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())


def _date_words(toks: Sequence[_Tok]) -> list[str]:
    """Month and weekday names ("may" only in a date: "in May", "May 5")."""
    out = []
    for i, t in enumerate(toks):
        if t.low in _WEEKDAYS or (t.low in _MONTHS and (len(t.low) > 3 or t.raw[0].isupper())):
            out.append(t.low)
        elif t.low == "may":
            before = toks[i - 1].low if i else ""
            after = toks[i + 1].low if i + 1 < len(toks) else ""
            if before in {"in", "on", "since", "until", "by", "early", "late", "mid", "last", "next", "of"} or (
                    after.isdigit()):
                out.append("may")
    return out


# --------------------------------------------------------------------------- polarity

_NEGATORS = frozenset(
    """not no never none nobody nothing neither nor without cannot cant can't don't doesn't didn't won't wouldn't
    isn't aren't wasn't weren't hasn't haven't hadn't shouldn't couldn't mustn't denied deny denies denying
    refused refuse refuses refusing failed fail fails failing unable rejected reject rejects rejecting declined
    decline declines lack lacked lacks nowhere non n't nt""".split()
)
_NOT_NEGATION = re.compile(r"\b(?:not only|not just|not merely|no doubt|no longer than|nothing but|never mind)\b")


_SCOPE_SKIP = frozenset("yet still even ever always really necessarily just only fully entirely quite".split())
_PREFIX_FALSE = frozenset("cover close play charge able arm patch ease solve".split())  # discover, unable ...


def _negations(toks: Sequence[_Tok]) -> list[tuple[str, set[str]]]:
    """Negation cues with their scope: the stems of the next three content words."""
    out = []
    for i, t in enumerate(toks):
        if t.low in _NEGATORS:
            clause = []
            for x in toks[i + 1 : i + 8]:  # the scope ends at the clause: a comma or other punctuation
                if not x.joined:
                    break
                clause.append(x)
            words = [_stem(x.low) for x in clause if x.low not in _STOPWORDS and x.low not in _NEGATORS
                     and x.low not in _SCOPE_SKIP]
            scope = set(list(dict.fromkeys(words))[:3])
            out.append((t.low, scope))
    return out


def _polarity_problems(claim: str, evidence: str) -> list[str]:
    """A claim that adds a negation its evidence lacks, or drops one from what it restates."""
    ctoks = _tokens(_NOT_NEGATION.sub(" ", claim.lower()))
    etoks = _tokens(_NOT_NEGATION.sub(" ", evidence.lower()))
    cneg, eneg = _negations(ctoks), _negations(etoks)
    cstems = {_stem(t.low) for t in ctoks}
    estems = {_stem(t.low) for t in etoks}
    estems_raw = {t.low for t in etoks}
    problems = []
    escope = set().union(*(s for _, s in eneg)) if eneg else set()
    for cue, scope in cneg:
        if not eneg:
            problems.append(f"claim says {cue!r} but the cited sentences have no negation")
            break
        if scope & estems and not scope & escope:
            problems.append(f"claim negates ({cue!r}) what the cited sentences state")
            break
    for t in ctoks:  # "willing" for "unwilling", "legal" for "illegal", and the other way round
        for pre in ("un", "il", "ir", "dis", "non"):  # not in-/im-: invest, inform, impose, income ...
            if len(t.low) > 4 and (pre + t.low) in estems_raw and t.low not in estems_raw:
                problems.append(f"claim says {t.low!r} where the cited sentences say {pre + t.low!r}")
            if t.low.startswith(pre) and len(t.low) - len(pre) > 4 and t.low[len(pre):] in estems_raw and (
                    t.low not in estems_raw) and t.low[len(pre):] not in _PREFIX_FALSE:
                problems.append(f"claim says {t.low!r} where the cited sentences say {t.low[len(pre):]!r}")
    if not cneg:
        for cue, scope in eneg:
            if len(scope & cstems) >= min(2, len(scope)) and scope:
                problems.append(f"claim drops the negation ({cue!r}) of the cited sentences")
                break
    return problems


# --------------------------------------------------------------------------- names and roles

_ROLES = frozenset(
    """president vice prime minister ministers secretary chancellor ambassador envoy general admiral commander
    chief ceo chairman chairwoman chair director spokesman spokeswoman spokesperson governor mayor senator
    congressman congresswoman king queen prince princess pope premier coach captain manager judge prosecutor
    attorney lawyer officer sheriff inspector detective sergeant lieutenant colonel major founder owner
    deputy former foreign defence defense finance interior opposition striker goalkeeper midfielder defender
    player chairman boss""".split()
)
# Capitals and seats of government that news uses for their countries (and back).
_METONYMS = {
    "pyongyang": "north korea", "seoul": "south korea", "beijing": "china", "moscow": "russia",
    "kremlin": "russia", "tokyo": "japan", "washington": "united states", "ottawa": "canada", "kyiv": "ukraine",
    "kiev": "ukraine", "london": "britain", "paris": "france", "berlin": "germany", "taipei": "taiwan",
    "tehran": "iran", "jerusalem": "israel", "canberra": "australia", "brussels": "european union",
    "dprk": "north korea", "rok": "south korea", "prc": "china", "us": "united states", "u.s": "united states",
    "america": "united states", "uk": "britain", "u.k": "britain",
}
_ATTRIBUTION = frozenset("""writes wrote write argues argued argue says said say according notes noted warns warned
    contends believes believe suggests stresses explains adds author authors column op-ed essay""".split())
_DIRECTIONS = frozenset("""north south east west northern southern eastern western northeast northwest southeast
    southwest northeastern northwestern southeastern southwestern""".split())
_ANAPHORS = frozenset(
    """he she his her him hers they their them theirs it its this these those latter we our us itself""".split()
)


@dataclass
class Cited:
    """What one cited source offers a claim: its cited sentences' text, the context before them, its metadata."""

    source_id: int
    text: str  # the cited sentences, joined
    source_text: str  # the whole cleaned source (for where a name came from, and capitalisation)
    context: str = ""  # the two sentences before the first cited one (for "he", "the company")
    metadata: str = ""  # title, authors, publisher, publication date (dates may come from here)
    people: str = ""  # authors and publishers: names a claim may attribute to ("Braun argues ...")
    title: str = ""  # the headline: the article's subject, which may open a claim ("Farmers in Gedaref ...")


@dataclass
class SupportResult:
    """Support score in [0, 1], the share of claim words covered, and the problems found."""

    score: float
    coverage: float
    problems: list[str] = field(default_factory=list)


def _name_runs(toks: Sequence[_Tok], names: frozenset[str], claim_cased: bool,
               lower_vocab: frozenset[str] = frozenset()) -> list[list[int]]:
    """Index runs of consecutive name words in a claim: words the source writes capitalised (or their root:
    Estonian/Estonia), capitalised mid-sentence in a cased claim, or opening it as a possessive the source never
    writes in lower case ("Denmark's minister")."""
    runs: list[list[int]] = []
    cur: list[int] = []
    for i, t in enumerate(toks):
        is_name = t.low not in _STOPWORDS and not t.low.isdigit() and len(t.low) > 1 and t.low not in _ROLES and (
            t.low not in _NUMBER_WORDS) and (
            t.low not in _MONTHS and t.low not in _WEEKDAYS) and (
            t.low in names or (len(t.low) >= 5 and any(_demonym(t.low, n) for n in names if n[:3] == t.low[:3]))
            or (claim_cased and t.raw[0].isupper() and (not t.initial or (
                t.possessive and lower_vocab and t.low not in lower_vocab and t.low not in _OPENERS
                and len(t.low) > 2))))
        if is_name:
            cur.append(i)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


_DEMONYM = ("n", "an", "ian", "ese", "i", "ish", "ns", "ans", "ians")


def _demonym(word: str, name: str) -> bool:
    """Whether a word is a people or adjective form of a name (Estonian/Estonia, Chinese/China, Koreans/Korea)."""
    stem = name[:-1] if name[-1:] in "aeiou" else name
    return len(stem) >= 4 and any(word == name + suf or word == stem + suf for suf in _DEMONYM)


def _phrase_in(words: list[str], text_low: str) -> bool:
    return bool(words) and re.search(r"\b" + r"\W+".join(map(re.escape, words)) + r"\b", text_low) is not None


def _role_near_name(role: str, name: str, text_low: str) -> bool:
    """Whether a text puts a role word within four words before a name ("foreign minister Mélanie Joly")."""
    return re.search(rf"\b{re.escape(role)}\w*(?:\W+\w+){{0,4}}?\W+{re.escape(name)}\b", text_low) is not None


def _entity_problems(toks: Sequence[_Tok], cited: list[Cited], claim_cased: bool) -> list[str]:
    """Names and roles in the claim must be in the cited sentences (or their metadata / referring context)."""
    names: set[str] = set()
    for c in cited:
        names |= _capitalised_words(c.source_text)
    ev_low = " ".join(c.text for c in cited).lower()
    ev_toks = _tokens(ev_low)
    anaphoric = any(_has_anaphor(c.text) for c in cited)
    ev_words = {t.low for t in ev_toks}
    allowed = set(ev_words)
    # A capital for its country (and back); a capital the cited sentences lack does not stand in for a country the
    # claim also names ("between Kremlin and Russia").
    claim_low = " ".join(t.low for t in toks)
    metonyms = {m for m, country in _METONYMS.items() if _phrase_in(country.split(), ev_low)
                and not _phrase_in(country.split(), claim_low)}
    metonyms |= {w for m, country in _METONYMS.items() if m in ev_words for w in country.split()}
    # A name that resolves "he" / "the minister" opens the claim; only there may it come from the sentences before.
    ctx_toks = _tokens(" ".join(c.context.lower() for c in cited)) if anaphoric else ()
    title_toks = tuple(t for c in cited for t in _tokens(c.title))
    ctx_words = {t.low for t in ctx_toks} | {t.low for t in title_toks}
    meta = {t.low for c in cited for t in _tokens(c.people)}
    attributed = {i for i, t in enumerate(toks) if t.low in _ATTRIBUTION}
    ev_vocab = {t.low for t in ev_toks}
    source_low = " ".join(_lower(c.source_text) for c in cited)
    source_vocab: set[str] = set().union(*(_vocab(c.source_text) for c in cited))
    problems: list[str] = []
    lower_vocab = frozenset().union(*(_lower_words(c.source_text) for c in cited))
    runs = _name_runs(toks, frozenset(names), claim_cased, lower_vocab)
    name_words = {toks[i].low for r in runs for i in r}
    for run in runs:
        words = [toks[i].low for i in run]
        near_attribution = any(abs(i - j) <= 4 for i in run for j in attributed)
        opening = run[0] < 5
        missing = [w for w in words if not _has(w, allowed) and not (near_attribution and w in meta)
                   and not (len(words) == 1 and w in metonyms) and not _acronym_in(w, ev_toks)]
        if not missing:
            if len(words) > 1 and not _in_order(words, ev_toks) and not (near_attribution and all(
                    w in meta for w in words)):
                shown = " ".join(toks[i].raw for i in run)
                problems.append(f"name {shown!r} not in the cited sentences (its words are, not together)")
            continue
        if opening and all(_has(w, ctx_words) for w in missing):
            in_ev = [w for w in words if w not in missing]  # the rest must not be part of another name there
            if not in_ev or _conflicts(in_ev, ev_toks, names) is not True:
                continue
        present = [w for w in words if w not in missing]
        if present and words[-1] in present and all(words.index(m) < words.index(present[0]) for m in missing) \
                and _phrase_in(words, source_low) and _conflicts(present, (*ev_toks, *ctx_toks), names) is False:
            continue  # "Vladimir Putin" where the cited sentence says "Putin"
        shown = " ".join(toks[i].raw for i in run)
        where = " (it is elsewhere in the source: wrong person, place or role?)" if all(
            _has(w, source_vocab) for w in missing) else ""
        problems.append(f"name {shown!r} not in the cited sentences{where}")
    for i, t in enumerate(toks):
        if t.low in _DIRECTIONS and t.low not in name_words and not _has(t.low, allowed | ctx_words):
            problems.append(f"direction {t.raw!r} not in the cited sentences")
        if t.low not in _ROLES:
            continue
        after = [toks[j].low for j in range(i + 1, min(len(toks), i + 4)) if toks[j].low in name_words]
        if _has(t.low, ev_vocab):
            if after and t.low not in _GENERIC_ROLES and t.low in _roles_before(after[0], toks, name_words) and (
                    _role_moved(t.low, after[0], ev_toks, name_words)):
                problems.append(f"role {t.raw!r} belongs to someone else in the cited sentences")
            continue
        if not after and not (i and toks[i - 1].low in name_words):
            continue  # a role word not attached to a name is just a content word
        if after and any(_role_near_name(t.low, n, source_low) for n in after) and any(
                _has(n, ev_vocab) for n in after):
            continue  # the source gives that person this role elsewhere
        problems.append(f"role {t.raw!r} not in the cited sentences")
    return problems


def _in_order(words: list[str], toks: Sequence[_Tok]) -> bool:
    """Whether the words occur in this order in the tokens, close together (a name as the text writes it)."""
    for j, t in enumerate(toks):
        if not _match(t.low, words[0]) and not _acronym_in(words[0], toks[j : j + 6]):
            continue
        k = j + 1
        for w in words[1:]:
            nxt = next((m for m in range(k, min(len(toks), k + 3)) if _match(toks[m].low, w)), None)
            if nxt is None:
                break
            k = nxt + 1
        else:
            return True
    return False


def _acronym_in(word: str, ev_toks: Sequence[_Tok]) -> bool:
    """An acronym ("UN", "u.s", "ICBM") spelled by the starts of consecutive words of the cited sentences."""
    letters = word.replace(".", "")
    if not 2 <= len(letters) <= 6 or not letters.isalpha():
        return False
    words = [t.low for t in ev_toks if t.low not in {"of", "the", "and", "for"}]

    def part(chunk: str, w: str) -> bool:  # "ic" in "intercontinental": first letter starts it, rest in order
        it = iter(w[1:])
        return w[:1] == chunk[:1] and all(c in it for c in chunk[1:])

    def spell(rest: str, i: int) -> bool:  # rest spelled by one or two letters of each of words[i:]
        if not rest:
            return True
        if i >= len(words):
            return False
        return any(part(rest[:k], words[i]) and spell(rest[k:], i + 1) for k in (1, 2) if k <= len(rest))

    return any(words[i][0] == letters[0] and spell(letters, i) and len(letters) <= 2 * (len(words) - i)
               for i in range(len(words)))


_GENERIC_ROLES = frozenset("former deputy vice chief general".split())


def _roles_before(name: str, toks: Sequence[_Tok], name_words: set[str]) -> set[str]:
    """Role words in the unbroken run of role/name words right before each mention of a name."""
    out: set[str] = set()
    for j, t in enumerate(toks):
        if _match(t.low, name):
            k = j - 1
            while k >= 0 and j - k <= 4 and toks[k + 1].joined and (
                    toks[k].low in name_words or toks[k].low in _ROLES or toks[k].low in {"affairs", "of", "the"}):
                if toks[k].low in _ROLES:
                    out.add(toks[k].low)
                k -= 1
    return out


def _role_moved(role: str, name: str, ev_toks: Sequence[_Tok], name_words: set[str]) -> bool:
    """The cited sentences put other role words, not this one, right before this name."""
    specific = {r for r in _roles_before(name, ev_toks, name_words) if r not in _GENERIC_ROLES}
    return bool(specific) and not any(_match(role, r) for r in specific)


def _conflicts(words: list[str], ev_toks: Sequence[_Tok], names: set[str]) -> bool | None:
    """Whether every place the cited sentences use these name words has another name word attached that the claim
    lacks ("North Koreans" for a claim's "South Korean", "China Coast Guard" for "U.S. Coast Guard"); None if the
    cited sentences do not use them at all."""
    found = False
    for j, t in enumerate(ev_toks):
        if not _match(t.low, words[0]):
            continue
        k = j + 1
        w = 1
        while w < len(words) and k < len(ev_toks) and _match(ev_toks[k].low, words[w]):
            k += 1
            w += 1
        if w < len(words):
            continue
        found = True
        before = ev_toks[j - 1].low if j and ev_toks[j].joined else ""
        after = ev_toks[k].low if k < len(ev_toks) and ev_toks[k].joined else ""
        if not ((before in names and before not in _STOPWORDS) or (after in names and after not in _STOPWORDS)):
            return False
    return True if found else None


def _has_anaphor(text: str) -> bool:
    low = " " + text.lower() + " "
    return any(f" {a} " in low for a in _ANAPHORS) or re.search(
        r"\bthe (?:company|group|firm|team|club|ministry|government|country|minister|president|official|patrol|"
        r"ministers|leaders|two|talks|meeting|visit|region|area|city|town|agreement|deal|plan|package|party|"
        r"leader|officials|authorities|state|nation|capital|island|province|village|villages|site|event|move)\b",
        low) is not None


def _swap_problems(toks: Sequence[_Tok], evidence: str, names: frozenset[str], claim_cased: bool) -> list[str]:
    """Two names on either side of an action in the claim ("A hosted B") that the evidence has the other way round."""
    runs = _name_runs(toks, names, claim_cased)
    if len(runs) < 2:
        return []
    name_idx = {i for r in runs for i in r}
    etoks = _tokens(evidence)
    estems = [_stem(t.low) for t in etoks]

    def ordered(x: str, y: str, verbs: set[str]) -> bool:
        """Some occurrence of x comes shortly before y with one of the verbs between them (and no passive 'by')."""
        xs = [j for j, t in enumerate(etoks) if _match(t.low, x)]
        ys = [j for j, t in enumerate(etoks) if _match(t.low, y)]
        return any(i < j <= i + 12 and verbs & set(estems[i + 1 : j]) and "by" not in {t.low for t in etoks[i + 1 : j]}
                   for i in xs for j in ys)

    for n, a in enumerate(runs):
        for b in runs[n + 1 :]:
            if b[0] - a[-1] > 8 or not all(toks[i].joined for i in range(a[-1] + 1, b[0] + 1)):
                break  # only names in the same clause, a few words apart
            between = [toks[i] for i in range(a[-1] + 1, b[0]) if i not in name_idx]
            if any(t.low == "by" for t in between):
                continue
            verbs = {_stem(t.low) for t in between if t.low not in _STOPWORDS and len(t.low) > 2
                     and t.low not in _ROLES}
            x, y = toks[a[-1]].low, toks[b[-1]].low
            if not verbs or _match(x, y):
                continue
            if ordered(y, x, verbs) and not ordered(x, y, verbs):
                return [f"roles swapped: the cited sentences have {toks[b[-1]].raw!r} before {toks[a[-1]].raw!r} "
                        "around the same action"]
    return []


# --------------------------------------------------------------------------- the check


def check_support(claim: str, cited: list[Cited]) -> SupportResult:
    """Support of a claim by its cited sentences: a score in [0, 1] and the problems that make it unverified."""
    evidence = "\n".join(c.text for c in cited)
    toks = _tokens(claim)
    letters = [ch for ch in claim if ch.isalpha()]
    claim_cased = any(ch.isupper() for ch in letters) and not all(ch.isupper() for ch in letters)
    hard: list[str] = []

    ev_q = quantities(evidence)
    meta_q = quantities(" ".join(c.metadata for c in cited))
    for q in quantities(claim):
        if _agrees(q, ev_q) and not _miscounts(q, ev_q):
            continue
        if q.is_year and not any(e.is_year for e in ev_q) and _agrees(q, meta_q):
            continue
        hard.append(f"{'date' if q.is_year else 'number'} {q.shown} not in the cited sentences")

    ev_dates = set(_date_words(_tokens(evidence)))
    meta_dates = set(_date_words(_tokens(" ".join(c.metadata for c in cited))))
    for d in dict.fromkeys(_date_words(toks)):
        if not _has(d, ev_dates if ev_dates else ev_dates | meta_dates):
            hard.append(f"date {d!r} not in the cited sentences")

    hard += _entity_problems(toks, cited, claim_cased)
    names: set[str] = set()
    for c in cited:
        names |= _capitalised_words(c.source_text)
    hard += _swap_problems(toks, evidence, frozenset(names), claim_cased)
    hard += _polarity_problems(claim, evidence)

    claim_words = _content_words(claim)
    if claim_words:
        ev_words = _content_words(evidence)
        shared = {w for w in claim_words if w in ev_words or _has(w, ev_words)}
        coverage = len(shared) / len(claim_words)
    else:
        coverage = 1.0
    problems = list(hard)
    if coverage < MIN_COVERAGE:
        problems.append(f"claim not covered by the cited sentences ({round(coverage * len(claim_words))} of "
                        f"{len(claim_words)} content words)")
    elif len(cited) > 1:
        for c in cited:
            own = {w for w in claim_words if _has(w, _content_words(c.text))}
            if len(own) / len(claim_words) < MIN_SOURCE_COVERAGE and len(own) < 3:
                problems.append(f"[{c.source_id}] evidence does not support the claim")
    score = coverage * HARD_PENALTY ** len(hard)
    return SupportResult(round(max(0.0, min(1.0, score)), 3), round(coverage, 3), problems)


def sentences_of_span(text: str, start: int, end: int) -> list[int]:
    """Ids of the sentences of text that overlap [start, end)."""
    return [s.id for s in split_sentences(text) if s.start < end and start < s.end]


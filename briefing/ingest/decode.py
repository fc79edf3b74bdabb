"""Bytes to text: BOMs, UTF-16, UTF-8, legacy encodings (cp1252, CP949) and binary refusal; HTML or text dump."""

from __future__ import annotations

import re

_HTML_RE = re.compile(
    rb"^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<\?xml[^>]*>\s*<html)|<html[\s>][\s\S]{0,4000}<(?:head|body)[\s>]",
    re.IGNORECASE,
)
_ANY_TAG_RE = re.compile(r"<[A-Za-z/!?][^<>]{0,2000}>")
_HTML_TAG_RE = re.compile(r"</?(?:p|div|span|a|article|section|h[1-6]|br|li|ul|body|head|html|meta|title)\b[^>]*>", re.I)  # noqa: E501


def decode_bytes(data: bytes) -> tuple[str, str] | None:
    """Decode bytes to text (BOMs, UTF-16, UTF-8, then detection); None when the bytes look binary."""
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return _normalise(data.decode(enc)), enc
            except UnicodeDecodeError:
                break
    utf16 = _guess_bomless_utf16(data)
    if utf16:
        try:
            text16 = data.decode(utf16)
        except UnicodeDecodeError:
            pass
        else:
            if _control_ratio(text16) <= 0.05:  # a table of small integers is not text
                return _normalise(text16), utf16
    if _looks_binary(data):
        return None
    try:
        return _normalise(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    text, enc = _detect(data)
    if text is None:
        return None
    if _control_ratio(text) > 0.05:
        return None
    return _normalise(text), enc


def _detect(data: bytes) -> tuple[str | None, str]:
    """Detect a legacy encoding with charset-normalizer, preferring cp1252 and CP949 on ties."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        for enc in ("cp949", "cp1252"):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                continue
        return None, ""
    enc = best.encoding
    # Korean legacy text is often reported as a narrower sibling; CP949 is the superset that decodes it all.
    if enc in ("euc_kr", "johab", "iso2022_kr"):
        try:
            return data.decode("cp949"), "cp949"
        except UnicodeDecodeError:
            pass
    # Latin-1 family: cp1252 is what Windows dumps almost always are (curly quotes in 0x80-0x9f).
    if enc in ("latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1257", "mac_roman"):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best), enc


def _guess_bomless_utf16(data: bytes) -> str | None:
    """Spot BOM-less UTF-16 by the pattern of zero bytes, then confirm by decoding.

    ASCII-heavy text has a zero in every other byte. Text in another script (Korean, Chinese, Cyrillic) has few zeros
    (its spaces, digits, punctuation and line breaks), so it is decoded both ways: text read in the right byte order
    is assigned, printable characters, while binary data or the wrong byte order gives control, unassigned,
    private-use and lone surrogate code points.
    """
    sample = data[:8000]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    sample = sample[: len(sample) // 2 * 2]
    even_zero = sample[0::2].count(0)
    odd_zero = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_zero > 0.4 * half and even_zero < 0.05 * half:
        return "utf-16-le"
    if even_zero > 0.4 * half and odd_zero < 0.05 * half:
        return "utf-16-be"
    plausible = [enc for enc in ("utf-16-le", "utf-16-be") if _plausible_text(sample, enc)]
    if len(plausible) == 2:  # both decode to assigned characters: the side of the zero bytes decides
        return "utf-16-le" if odd_zero > even_zero else "utf-16-be" if even_zero > odd_zero else None
    return plausible[0] if plausible else None


def _plausible_text(sample: bytes, encoding: str) -> bool:
    """True when the bytes decode to text: almost all characters assigned and printable (binary data decoded as
    UTF-16 is full of control, unassigned, private-use and lone surrogate code points)."""
    import unicodedata

    text = sample.decode(encoding, errors="replace")
    if not text:
        return False
    bad = sum(1 for c in text if c == "\ufffd" or (unicodedata.category(c) in ("Cc", "Cn", "Co", "Cs")
                                                    and c not in "\n\r\t\f"))
    return bad <= 0.01 * len(text) + 1


def _looks_binary(data: bytes) -> bool:
    """True for bytes with NULs or many control characters (images, archives, executables)."""
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    ctrl = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return ctrl > 0.02 * len(sample)


def _control_ratio(text: str) -> float:
    """Share of control and replacement characters in decoded text."""
    sample = text[:8192]
    if not sample:
        return 0.0
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\n\r\f") or c == "\ufffd")
    return bad / len(sample)


def _normalise(text: str) -> str:
    """Strip a stray BOM and normalise line endings."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def looks_like_html(text: str) -> bool:
    """True when the text is an HTML document rather than a text dump (that may quote or mention tags).

    A document starts with markup (doctype, <html>, <head>, <body>, or another tag) and is mostly markup: tags make up
    a good share of its characters. A dump whose help text lists `<a href> <ul> <li>` is neither.
    """
    head = text.lstrip("\ufeff \t\r\n")[:5000]
    if not head.startswith("<"):
        return False
    if _HTML_RE.match(head.encode("utf-8", "ignore")):
        return True
    sample = text[:20000]
    tags = _HTML_TAG_RE.findall(sample)
    if len(tags) < 5:
        return False
    markup = sum(len(m) for m in _ANY_TAG_RE.findall(sample))
    return markup >= 0.2 * len("".join(sample.split()))

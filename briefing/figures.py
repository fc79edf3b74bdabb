"""Figures written in any script: 12,000 / 12 000 / 1,5 million / 12 тыс. / 1만2천 / 1.2万 / 三千, and dotted dates."""

from __future__ import annotations

import re

# Multipliers written after a figure, in the languages sources come in ("12 thousand", "1,2 million", "12 тыс.").
_WORD_SCALES = {
    "thousand": 1e3, "thousands": 1e3, "million": 1e6, "millions": 1e6, "billion": 1e9, "billions": 1e9,
    "trillion": 1e12, "bn": 1e9, "mn": 1e6,
    "mille": 1e3, "milliers": 1e3, "milliard": 1e9, "milliards": 1e9,
    "тыс": 1e3, "тысяча": 1e3, "тысячи": 1e3, "тысяч": 1e3, "млн": 1e6, "миллион": 1e6, "миллиона": 1e6,
    "миллионов": 1e6, "млрд": 1e9, "миллиард": 1e9, "миллиарда": 1e9, "миллиардов": 1e9,
}  # fmt: skip
# CJK and Korean units: small ones multiply the figure before them within a group, big ones close the group.
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "千": 1000, "仟": 1000, "십": 10, "백": 100, "천": 1000}
_BIG_UNITS = {"万": 1e4, "萬": 1e4, "만": 1e4, "亿": 1e8, "億": 1e8, "억": 1e8, "兆": 1e12, "조": 1e12}
_CJK_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
               "八": 8, "九": 9}  # fmt: skip
_UNITS = "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)
_SEP = "[,\u00a0\u202f\u2009 ]"  # thousands separators: comma, no-break and thin spaces, a plain space
_FIGURE = rf"\d{{1,3}}(?:{_SEP}\d{{3}})+(?![\d.,]\d)(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_NUMBER = re.compile(
    rf"(?P<date>\b\d{{4}}[./-]\d{{1,2}}[./-]\d{{1,2}}\b)"  # 2024.11.02, 2024-11-02
    rf"|(?P<fig>{_FIGURE})(?P<units>(?:\s?[{_UNITS}](?:\d+(?:[.,]\d+)?)?)*)"  # 12,000 / 1만2천 / 1.2万
    r"(?:[ \u00a0]?(?P<scale>[^\W\d_]+)\.?)?"
    rf"|(?P<han>[{''.join(_CJK_DIGITS)}{_UNITS}]{{2,}})",  # 三千, 一万二千, 十二
    re.IGNORECASE,
)


def _figure(text: str) -> float:
    """Value of a written figure: "12,000", "12 000", "1.5", "1,5" (a comma before 1-2 digits is decimal)."""
    t = re.sub(r"[\u00a0\u202f\u2009 ]", "", text)
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", t):
        t = re.sub(r"[,.]", "", t)
    else:
        t = t.replace(",", ".")
        if t.count(".") > 1:
            t = t.replace(".", "", t.count(".") - 1)
    return float(t)


def _cjk_value(first: float | None, units: str) -> float:
    """Combine a figure with the CJK/Korean units after it: 1 + 만2천 -> 12000, 3 + 억5천만 -> 350000000."""
    total, section, num = 0.0, 0.0, first
    for m in re.finditer(rf"(\d+(?:[.,]\d+)?)|([{_UNITS}])|([{''.join(_CJK_DIGITS)}])", units):
        if m.group(1):
            num = _figure(m.group(1))
        elif m.group(3):
            num = float(_CJK_DIGITS[m.group(3)])
        elif m.group(2) in _SMALL_UNITS:
            section += (1 if num is None else num) * _SMALL_UNITS[m.group(2)]
            num = None
        else:
            total += ((section + (num or 0)) or 1) * _BIG_UNITS[m.group(2)]
            section, num = 0.0, None
    return total + section + (num or 0)


def numbers(text: str) -> list[tuple[str, float]]:
    """Every figure in a text with its value, in any script: 12,000 / 12 000 / 1.2 million / 1만2천 / 1.2万 / 三千;
    dates like 2024.11.02 give their year, month and day."""
    out: list[tuple[str, float]] = []
    for m in _NUMBER.finditer(text):
        if m.group("date"):
            out += [(p, float(p)) for p in re.split(r"[./-]", m.group("date"))]
        elif m.group("fig"):
            try:
                value = _figure(m.group("fig"))
            except ValueError:
                continue
            units = re.sub(r"\s", "", m.group("units") or "")
            if units:
                value = _cjk_value(value, units)
            scale = _WORD_SCALES.get((m.group("scale") or "").lower())
            shown = m.group(0) if scale else text[m.start():m.end("units")]
            out.append((shown.strip(), value * scale if scale else value))
        elif m.group("han") and any(c in _CJK_DIGITS for c in m.group("han")):
            out.append((m.group("han"), _cjk_value(None, m.group("han"))))
    return out

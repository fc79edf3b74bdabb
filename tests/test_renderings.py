"""Renderings of cited sentences in the brief's language: figures, dates and Latin names must match the original."""

from __future__ import annotations

import pytest

from briefing.figures import numbers
from briefing.verify.renderings import check_rendering


@pytest.mark.parametrize("text, values", [
    ("북한군 규모를 최대 1만2천 명으로 추산했다.", [12000]),
    ("兵力约1.2万人，另有三千名士兵", [12000, 3000]),
    ("北朝鮮は約1万2000人の兵士を派遣した。", [12000]),
    ("予算は3億5千万円", [350_000_000]),
    ("около 12 тыс. военнослужащих и 1,2 млн снарядов", [12000, 1_200_000]),
    ("jusqu'à 12 000 soldats et 1,5 million d'obus", [12000, 1_500_000]),
    ("up to 12,000 troops and 1.5 million shells", [12000, 1_500_000]),
    ("2024.11.02 송고", [2024, 11, 2]),
    ("2026년에 열린다", [2026]),
])
def test_numbers_in_any_script(text: str, values: list[float]) -> None:
    assert [v for _, v in numbers(text)] == values


KO = "캐나다 측은 러시아에 파견된 북한군 규모를 최대 1만2천 명으로 추산했다."
KO_ICBM = "공동성명은 북한이 지난달 31일 대륙간탄도미사일(ICBM)을 시험발사한 것도 유엔 안보리 결의 위반이라며 규탄했다."
ZH = "据报道，朝鲜已向俄罗斯派遣约1.2万名士兵。"
RU = "По данным Сеула, КНДР направила в Россию около 12 тыс. военнослужащих."
FR = "Le Canada estime à 12 000 le nombre de soldats nord-coréens envoyés en Russie."
EN = "Canada estimates that up to 12,000 North Korean troops were sent to Russia."


@pytest.mark.parametrize("original, rendering", [
    (KO, "Canada estimated the North Korean troops sent to Russia at up to 12,000."),
    (KO, "Le Canada estime les effectifs nord-coréens envoyés en Russie à 12 000 au plus."),
    (KO_ICBM, "The joint statement also condemned North Korea's ICBM test launch on the 31st of last month as a "
              "violation of UN Security Council resolutions."),
    (ZH, "North Korea has reportedly sent about 12,000 soldiers to Russia."),
    (RU, "According to Seoul, North Korea has sent about 12 thousand troops to Russia."),
    (FR, "Canada estimates that 12,000 North Korean soldiers were sent to Russia."),
    (EN, "캐나다는 러시아에 파견된 북한군이 최대 1만2천 명이라고 추산한다."),
    (EN, "캐나다는 러시아에 파견된 북한군이 최대 12,000명이라고 추산한다."),
])
def test_faithful_renderings_pass(original: str, rendering: str) -> None:
    assert check_rendering(original, rendering) == []


@pytest.mark.parametrize("original, rendering, problem", [
    (KO, "Canada estimated the North Korean troops sent to Russia at up to 15,000.", "15,000"),
    (KO, "Canada estimated the North Korean troops sent to Russia at up to 1,200.", "1,200"),
    (KO, "Canada estimated the number of North Korean troops sent to Russia.", "leaves out '1만2천'"),
    (KO_ICBM, "The joint statement also condemned the ICBM test on the 30th of last month.", "'30'"),
    (KO_ICBM, "The joint statement condemned the intercontinental missile test on the 31st of last month.", "ICBM"),
    (ZH, "North Korea has reportedly sent about 1,200 soldiers to Russia.", "1,200"),
    (RU, "According to Seoul, North Korea has sent about 120 thousand troops to Russia.", "120 thousand"),
    (FR, "Canada estimates that 10,000 North Korean soldiers were sent to Russia.", "10,000"),
    (EN, "캐나다는 러시아에 파견된 북한군이 최대 1만5천 명이라고 추산한다.", "1만5천"),
])
def test_planted_errors_in_renderings_are_flagged(original: str, rendering: str, problem: str) -> None:
    problems = check_rendering(original, rendering)
    assert problems and any(problem in p for p in problems), problems


def test_figures_in_units_of_other_scripts_must_be_in_the_evidence() -> None:
    from briefing.verify.renderings import figure_problems

    evidence = "캐나다 측은 러시아에 파견된 북한군 규모를 최대 1만2천 명으로 추산했다."
    assert figure_problems("캐나다는 북한군 규모를 1만2천 명으로 추산했다.", evidence) == []
    assert figure_problems("캐나다는 북한군을 12,000명으로 본다.", evidence) == []  # digits: the support check's
    assert figure_problems("캐나다는 북한군 규모를 1만5천 명으로 추산했다.", evidence) == \
        ["number 1만5천 not in cited evidence"]
    assert figure_problems("Около 1,2 млн снарядов.", "about 1.2 million shells") == []
    assert figure_problems("Около 3,5 млн снарядов.", "about 1.2 million shells") != []

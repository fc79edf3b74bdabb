"""Tests for ingest: decoding, skipping bad files with warnings, folder walking, HTML detection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from briefing.ingest.sources import load_raw

TEXT = "Seoul and Ottawa signed the “2+2” statement – café, naïve, €5.\n"
KOREAN = "한국과 캐나다는 오타와에서 첫 외교·국방 장관회의를 열었다. 양국은 북한의 러시아 파병을 규탄했다.\n"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (TEXT.encode("utf-8"), TEXT),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), TEXT),
        (TEXT.encode("utf-16"), TEXT),
        (TEXT.encode("utf-16-le"), TEXT),
        (("The minister said “we agree” – it’s done. " * 5 + "\n").encode("cp1252"),
         "The minister said “we agree” – it’s done. " * 5 + "\n"),
        ((KOREAN * 3).encode("euc-kr"), KOREAN * 3),
        ((KOREAN * 3).encode("cp949"), KOREAN * 3),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16le-nobom", "cp1252", "euc-kr", "cp949"],
)
def test_encodings_decode(tmp_path: Path, payload: bytes, expected: str) -> None:
    f = tmp_path / "doc.txt"
    f.write_bytes(payload)
    docs, warnings = load_raw([str(f)])
    assert warnings == []
    assert docs[0].text == expected
    assert not docs[0].text.startswith("\ufeff")
    assert len(docs[0].sha256) == 64


def test_crlf_normalised(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"one\r\ntwo\rthree\n")
    docs, _ = load_raw([str(f)])
    assert docs[0].text == "one\ntwo\nthree\n"


def test_empty_binary_oversize_skipped_and_run_continues(tmp_path: Path) -> None:
    (tmp_path / "a_empty.txt").write_bytes(b"")
    (tmp_path / "b_blank.txt").write_bytes(b"  \n\n\t ")
    (tmp_path / "c_image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (tmp_path / "d_big.txt").write_bytes(b"word " * 300)
    (tmp_path / "e_good.txt").write_text("A real article paragraph.\n", encoding="utf-8")
    docs, warnings = load_raw([str(tmp_path)], max_bytes=1000)
    assert [Path(d.path).name for d in docs] == ["e_good.txt"]
    assert len(warnings) == 4
    for name in ("a_empty.txt", "b_blank.txt", "c_image.png", "d_big.txt"):
        assert sum(name in w for w in warnings) == 1
    assert any("empty" in w for w in warnings if "a_empty" in w)
    assert any("binary" in w for w in warnings if "c_image" in w)
    assert any("limit" in w for w in warnings if "d_big" in w)


def test_default_limit_is_5_mb(tmp_path: Path) -> None:
    f = tmp_path / "huge.txt"
    f.write_bytes(b"a" * (5 * 1024 * 1024 + 1))
    docs, warnings = load_raw([str(f)])
    assert docs == [] and "huge.txt" in warnings[0] and str(5 * 1024 * 1024) in warnings[0]


def test_folder_recursive_sorted_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("zed text", encoding="utf-8")
    (tmp_path / "a.txt").write_text("a text", encoding="utf-8")
    (tmp_path / "c.txt").write_text("c text", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("secret", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("x", encoding="utf-8")
    docs, warnings = load_raw([str(tmp_path)])
    assert [os.path.relpath(d.path, tmp_path) for d in docs] == ["a.txt", os.path.join("b", "z.txt"), "c.txt"]
    assert warnings == []


def test_missing_unreadable_and_symlink_loops(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("fine", encoding="utf-8")
    (tmp_path / "loop").symlink_to(tmp_path)  # directory loop
    (tmp_path / "self").symlink_to(tmp_path / "self")  # self-referencing link
    docs, warnings = load_raw([str(tmp_path), str(tmp_path / "nope.txt")])
    assert [Path(d.path).name for d in docs] == ["good.txt"]
    assert any("nope.txt" in w for w in warnings)
    assert any("self" in w for w in warnings)
    assert any("loop" in w for w in warnings)
    if os.geteuid() != 0:  # root can read anything
        locked = tmp_path / "locked.txt"
        locked.write_text("secret", encoding="utf-8")
        locked.chmod(0)
        docs, warnings = load_raw([str(locked)])
        assert docs == [] and "locked.txt" in warnings[0]


def test_html_detection(tmp_path: Path) -> None:
    page = "<!DOCTYPE html><html><head><title>x</title></head><body><p>Hi</p></body></html>"
    (tmp_path / "page.html").write_text(page)
    (tmp_path / "dump.txt").write_text("Plain text with a < sign and a > sign.\nSecond line.\n")
    docs, _ = load_raw([str(tmp_path)])
    assert [d.is_html for d in docs] == [False, True]


def test_ten_thousand_tiny_files_all_load_in_order(tmp_path: Path) -> None:
    for i in range(10_000):
        (tmp_path / f"{i:05d}.txt").write_bytes(b"tiny file %d\n" % i)
    docs, warnings = load_raw([str(tmp_path)])
    assert len(docs) == 10_000 and warnings == []
    assert Path(docs[0].path).name == "00000.txt" and Path(docs[-1].path).name == "09999.txt"

"""brief.docx (python-docx): title block, the sections, citations as [n], an evidence table, numbered sources."""

from __future__ import annotations

import io
import re

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor
from docx.text.paragraph import Paragraph

from briefing.export.document import BriefDoc, ClaimView

# Characters XML 1.0 forbids (python-docx refuses them): control characters, lone surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
WARN = RGBColor(0x8A, 0x3B, 0x00)
MUTED = RGBColor(0x5A, 0x62, 0x73)
COLUMNS = (Inches(0.45), Inches(2.5), Inches(0.55), Inches(3.0))  # evidence table: note, statement, source, quote


def xml_text(text: object) -> str:
    """Text Word can store: forbidden control characters dropped (tabs and newlines become spaces)."""
    return _NOT_XML.sub("", str(text).replace("\t", " ").replace("\r", " ").replace("\n", " "))


class _Writer:
    """Builds the document; numbers claims in reading order so each points at its row of the evidence table."""

    def __init__(self, doc: BriefDoc) -> None:
        self.doc = doc
        self.d = Document()
        self.notes: list[ClaimView] = []  # claims in the order they appear, note n = index + 1
        self.bookmark_id = 0
        self.style_ids = {name: self.d.styles[name].style_id for name in ("List Bullet", "List Number")}
        normal = self.d.styles["Normal"]
        normal.font.name = "Calibri"
        normal.font.size = Pt(10.5)

    def run(self, p: Paragraph, text: object, bold: bool = False, italic: bool = False,
            color: RGBColor | None = None, size: float | None = None) -> None:
        r = p.add_run(xml_text(text))
        r.bold, r.italic = bold or None, italic or None
        if color is not None:
            r.font.color.rgb = color
        if size is not None:
            r.font.size = Pt(size)

    def _note_link(self, p: Paragraph, n: int) -> None:
        """A superscript note number linking to the claim's row in the evidence table."""
        link = OxmlElement("w:hyperlink")
        link.set(qn("w:anchor"), f"evidence_{n}")
        link.set(qn("w:history"), "1")
        r = OxmlElement("w:r")
        rpr = OxmlElement("w:rPr")
        color = OxmlElement("w:color")
        color.set(qn("w:val"), "1F4E8C")
        va = OxmlElement("w:vertAlign")
        va.set(qn("w:val"), "superscript")
        rpr.append(color)
        rpr.append(va)
        r.append(rpr)
        t = OxmlElement("w:t")
        t.text = f"e{n}"
        r.append(t)
        link.append(r)
        p._p.append(link)

    def _bookmark(self, p: Paragraph, name: str) -> None:
        self.bookmark_id += 1
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), str(self.bookmark_id))
        start.set(qn("w:name"), name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), str(self.bookmark_id))
        p._p.insert(0, start)
        p._p.append(end)

    def claim(self, p: Paragraph, c: ClaimView) -> None:
        """Claim text, citations [n], its evidence note number, and the unverified mark with the reason."""
        self.run(p, c.attribution + c.text + c.language_mark + " ")
        self.run(p, "".join(f"[{i}]" for i in c.source_ids))
        self.notes.append(c)
        self._note_link(p, len(self.notes))
        if c.verified is False:
            self.run(p, f"  ⚠ {self.doc.t.unverified_mark}: " + ("; ".join(c.problems) or "no reason given"),
                     italic=True, color=WARN)

    def para(self, style: str | None = None, text: str = "") -> Paragraph:
        """A new paragraph; the style's id is set directly (python-docx looks a style name up by scanning every
        style, which made a brief take a second)."""
        p = self.d.add_paragraph(xml_text(text) if text else "")
        if style:
            p._p.style = self.style_ids[style]
        return p

    def bullets(self, claims: list[ClaimView], empty: str) -> None:
        for c in claims:
            self.claim(self.para("List Bullet"), c)
        if not claims:
            self.para("List Bullet", empty)

    def markdown_run(self, p: Paragraph, text: str) -> None:
        """A catalogue message with **bold** parts kept bold and `code` marks dropped."""
        for i, part in enumerate(text.replace("`", "").split("**")):
            if part:
                self.run(p, part, bold=i % 2 == 1)

    def build(self) -> bytes:
        doc, d = self.doc, self.d
        t = doc.t
        d.core_properties.title = xml_text(doc.title)[:250]
        d.core_properties.subject = "Policy brief"
        d.core_properties.author = "briefing"
        d.add_paragraph(xml_text(doc.title), style="Title")
        cov = doc.coverage
        meta = (t("generated", time=doc.generated_at, audience=doc.audience) + " · "
                + t("n_sources", n=cov["n_sources"])
                + (t("published_range", date_from=cov["date_from"], date_to=cov["date_to"]) if cov["date_from"]
                   else "")
                + f" · {t.engine}: {doc.engine} · {t.model}: {doc.model}")
        self.run(d.add_paragraph(), meta, italic=True, color=MUTED)
        if doc.offline:
            self.markdown_run(d.add_paragraph(), t.offline_note)
        p = d.add_paragraph()
        self.run(p, "Citations [n] refer to the numbered sources; the small note number after them (e1, e2, …) "
                    "leads to the evidence table, which gives each statement's quote from its source.",
                 italic=True, color=MUTED, size=9)

        d.add_heading(xml_text(t.bluf), level=1)
        self.bullets(doc.bluf, t.bluf_empty)

        d.add_heading(xml_text(t.judgments), level=1)
        for c in doc.judgments:
            p = self.para("List Number")
            self.claim(p, c)
            level = t.lookup("confidence_levels", c.confidence or "low")
            self.run(p, " — " + t("confidence", level=level), bold=True)
            if c.reason:
                self.run(p, " " + c.reason, color=MUTED)
        if not doc.judgments:
            d.add_paragraph(xml_text(t.judgments_empty))

        d.add_heading(xml_text(t.themes), level=1)
        for theme in doc.themes:
            d.add_heading(xml_text(theme.title), level=2)
            self.bullets(theme.claims, t.theme_empty)

        d.add_heading(xml_text(t.timeline), level=1)
        for c in doc.timeline:
            p = self.para("List Bullet")
            self.run(p, (c.date or "undated") + " — ", bold=True)
            self.claim(p, c)
        if not doc.timeline:
            self.para("List Bullet", t.timeline_empty)

        d.add_heading(xml_text(t.implications), level=1)
        self.bullets(doc.implications, t.implications_empty)
        d.add_heading(xml_text(t.indicators), level=1)
        self.bullets(doc.indicators, t.indicators_empty)

        d.add_heading(xml_text(t.summaries), level=1)
        for s in doc.summaries:
            p = d.add_paragraph()
            extra = f", {s.source.published}" if s.source.published else ""
            if "machine_translated" in s.source.flags:
                extra += "; " + t.machine_translated
            if s.source.same_event_as:
                extra += "; " + t("same_event", ids="".join(f"[{i}]" for i in s.source.same_event_as))
            self.run(p, f"[{s.source.id}] {s.source.title or t.untitled}", bold=True)
            self.run(p, f" ({t.lookup('stances', s.stance)}{extra}). ")
            for c in s.claims:
                self.claim(p, c)
                self.run(p, " ")

        d.add_heading(xml_text(t.sources), level=1)
        for src in doc.sources:
            p = d.add_paragraph()
            p.paragraph_format.left_indent = Pt(22)
            p.paragraph_format.first_line_indent = Pt(-22)
            self.run(p, f"[{src.id}] ", bold=True)
            self.run(p, src.reference + " ")
            self.run(p, src.where, color=MUTED, size=9)

        if doc.unverified:
            d.add_heading(xml_text(t.unverified), level=1)
            for c in doc.unverified:
                p = self.para("List Bullet")
                self.run(p, f"{c.text} {''.join(f'[{i}]' for i in c.source_ids)} — ")
                self.run(p, "; ".join(c.problems) or "no reason given", italic=True, color=WARN)

        self.evidence_table()
        self.method()
        buf = io.BytesIO()
        d.save(buf)
        return buf.getvalue()

    def evidence_table(self) -> None:
        d = self.d
        d.add_heading("Evidence", level=1)
        p = d.add_paragraph()
        self.run(p, "Each statement of the brief with the passage it cites, verbatim from the source's cleaned text.",
                 italic=True, color=MUTED, size=9)
        table = d.add_table(rows=1, cols=4)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, head in zip(table.rows[0].cells, ("Note", "Statement", "Source", "Evidence"), strict=True):
            cell.text = ""
            self.run(cell.paragraphs[0], head, bold=True)
        table.autofit = False
        for n, c in enumerate(self.notes, 1):
            cells = table.add_row().cells
            self.run(cells[0].paragraphs[0], f"e{n}")
            self._bookmark(cells[0].paragraphs[0], f"evidence_{n}")
            self.run(cells[1].paragraphs[0], c.attribution + c.text + c.language_mark, size=9)
            if c.verified is False:
                self.run(cells[1].add_paragraph(), "Unverified: " + ("; ".join(c.problems) or "no reason given"),
                         italic=True, color=WARN, size=9)
            by_src = self.doc.evidence.get(c.k, {})
            self.run(cells[2].paragraphs[0], "".join(f"[{i}]" for i in sorted(by_src) or c.source_ids), size=9)
            first = True
            for sid in sorted(by_src):
                se = by_src[sid]
                for q in se.quotes:
                    para = cells[3].paragraphs[0] if first else cells[3].add_paragraph()
                    first = False
                    self.run(para, f"[{sid}] “{q}”", size=9)
                    if q in se.unlocated:
                        self.run(para, " (not found in the saved source text)", italic=True, color=WARN, size=9)
                for t in se.translations:
                    self.run(cells[3].add_paragraph(), f"Rendering: {t}", italic=True, size=9)
            if first:
                self.run(cells[3].paragraphs[0], "No evidence quote recorded.", italic=True, color=MUTED, size=9)
        for col, width in zip(table.columns, COLUMNS, strict=True):
            col.width = width
            for cell in col.cells:
                cell.width = width

    def method(self) -> None:
        doc, d = self.doc, self.d
        m = doc.method
        t = doc.t
        d.add_heading(xml_text(t.method), level=1)
        self.para("List Bullet", t("method_usage", engine=doc.engine, model=doc.model, requests=m["requests"],
                                   prompt_tokens=m["prompt_tokens"], completion_tokens=m["completion_tokens"],
                                   cost=f"{m['cost_usd']:.4f}"))
        self.para("List Bullet", t("method_verification", verified=m["verified"], total=m["total_claims"],
                                   policy=m["policy"]))
        for f in m["flagged_sources"]:
            self.para("List Bullet", f)
        for w in m["skipped"]:
            self.para("List Bullet", t("skipped", what=w))
        ch = doc.changes
        d.add_heading(xml_text(t.changes), level=2)
        if ch is None:
            d.add_paragraph(xml_text(t.changes_first))
            return
        rows = ([t("source_added", path=p) for p in ch["added"]] + [t("source_removed", path=p) for p in ch["removed"]]
                + [t("source_updated", path=p) for p in ch["updated"]]
                + [t("judgment_added", text=j) for j in ch["judgments_added"]]
                + [t("judgment_removed", text=j) for j in ch["judgments_removed"]])
        if not rows:
            d.add_paragraph(xml_text(t("changes_none", previous=ch["previous"])))
            return
        d.add_paragraph(xml_text(t("changes_since", previous=ch["previous"])))
        for r in rows:
            self.para("List Bullet", r.replace("`", ""))


def render_docx(doc: BriefDoc) -> bytes:
    """The brief as a .docx file's bytes."""
    return _Writer(doc).build()

"""The memo as a Word document (python-docx), from the same ``Document`` as Markdown and HTML.

Word's own styles carry the structure, so a firm's template restyles it:
``Title`` for the caption, ``Heading 1``–``Heading 3`` for the parts,
``Quote`` for the words of the document, ``List Number`` and ``List Bullet``
for questions and items, ``Table Grid`` tables. Every page repeats the Re line
and the legend in its header and its number (a PAGE field) in its footer.
"""

from __future__ import annotations

import io

from docx import Document as new_docx
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt
from docx.text.paragraph import Paragraph as DocxParagraph

from render.document import Bullets, Code, Document, Figure, Paragraph, Quote, Section, Table, Tree
from render.explain import Phrase, Point


def _runs(paragraph: DocxParagraph, phrase: Phrase) -> None:
    for frag in phrase:
        run = paragraph.add_run(frag.text)
        if frag.kind == "strong":
            run.bold = True
        elif frag.kind == "code":
            run.font.name = "Consolas"
            run.font.size = Pt(8.5)


def _field(paragraph: DocxParagraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays the page out."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    shown = OxmlElement("w:t")
    shown.text = "1"
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, text, separate, shown, end):
        run._r.append(element)


def _keep_with_next(paragraph: DocxParagraph) -> None:
    paragraph.paragraph_format.keep_with_next = True


def _tree(docx: DocxDocument, point: Point, level: int) -> None:
    paragraph = docx.add_paragraph(style="List Bullet" if level == 0 else "List Bullet 2" if level == 1
                                   else "List Bullet 3")
    if level > 2:
        paragraph.paragraph_format.left_indent = Inches(0.25 * (level + 1))
    if point.status:
        status = paragraph.add_run(point.status.capitalize() + ": ")
        status.bold = True
    _runs(paragraph, point.text)
    if point.error:
        paragraph.add_run(f" (could not be computed: {point.error})").italic = True
    if point.intro:
        paragraph.add_run(f" {point.intro}").italic = True
    for child in point.children:
        _tree(docx, child, level + 1)


def _block(docx: DocxDocument, block: object, depth: int) -> None:
    if isinstance(block, Section):
        heading = docx.add_heading(block.title, level=min(depth, 3))
        _keep_with_next(heading)
        for inner in block.blocks:
            _block(docx, inner, depth + 1)
    elif isinstance(block, Paragraph):
        paragraph = docx.add_paragraph()
        _runs(paragraph, block.text)
        if block.style == "note":
            for run in paragraph.runs:
                run.italic = True
        elif block.style == "lead-in":
            _keep_with_next(paragraph)
    elif isinstance(block, Quote):
        paragraph = docx.add_paragraph(style="Quote")
        paragraph.add_run(f"“{block.text}”")
        if block.citation:
            paragraph.add_run(" (")
            _runs(paragraph, block.citation)
            paragraph.add_run(")")
    elif isinstance(block, Bullets):
        number = _restarted_numbering(docx) if block.numbered else None
        for item in block.items:
            paragraph = docx.add_paragraph(style="List Number" if block.numbered else "List Bullet")
            if number is not None:
                _number(paragraph, number)
            _runs(paragraph, item)
    elif isinstance(block, Table):
        if block.caption:
            _keep_with_next(docx.add_paragraph(block.caption))
        table = docx.add_table(rows=1, cols=len(block.columns))
        table.style = "Table Grid"
        if block.widths:
            _widths(table, [w / sum(block.widths) * TEXT_WIDTH for w in block.widths])
        for cell, column in zip(table.rows[0].cells, block.columns, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(column).bold = True
        _repeat_header(table.rows[0])
        for row in block.rows:
            cells = table.add_row().cells
            for index, (cell, phrase) in enumerate(zip(cells, row, strict=True)):
                paragraph = cell.paragraphs[0]
                if index in block.code_columns:
                    run = paragraph.add_run(phrase.plain)
                    run.font.name = "Consolas"
                    run.font.size = Pt(8)
                else:
                    _runs(paragraph, phrase)
        for row in table.rows:
            _no_split(row)
        docx.add_paragraph()
    elif isinstance(block, Figure):
        if block.png is not None:
            docx.add_picture(io.BytesIO(block.png), width=Inches(6))
        caption = docx.add_paragraph(block.caption, style="Caption")
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif isinstance(block, Code):
        if block.caption:
            caption = docx.add_paragraph()
            caption.add_run(block.caption).italic = True
            _keep_with_next(caption)
        paragraph = docx.add_paragraph()
        lines = block.text.split("\n")
        for index, line in enumerate(lines):
            run = paragraph.add_run(line)
            run.font.name = "Consolas"
            run.font.size = Pt(8)
            if index < len(lines) - 1:
                run.add_break()
    elif isinstance(block, Tree):
        title = docx.add_paragraph()
        title.add_run("").bold = True
        _runs(title, block.title)
        for run in title.runs:
            run.bold = True
        _keep_with_next(title)
        if block.point.intro:
            docx.add_paragraph(block.point.intro).runs[0].italic = True
        for child in block.point.children:
            _tree(docx, child, 0)


TEXT_WIDTH = 6.5  # inches between the margins of a Letter page


def _widths(table: object, inches: list[float]) -> None:
    """Column widths that Word and LibreOffice both honour: the grid and every cell."""
    table.autofit = False  # type: ignore[attr-defined]
    for column, width in zip(table.columns, inches, strict=True):  # type: ignore[attr-defined]
        column.width = Inches(width)
        for cell in column.cells:
            cell.width = Inches(width)


def _restarted_numbering(docx: DocxDocument) -> str:
    """A numbering instance of the List Number style that starts again at 1 (Word otherwise numbers every
    numbered list of the document as one: the short answers would run on from the questions)."""
    numbering = docx.part.numbering_part.element
    style = docx.styles["List Number"].element
    num_pr = style.pPr.numPr if style.pPr is not None else None
    base = num_pr.numId.val if num_pr is not None and num_pr.numId is not None else None
    abstract = None
    for num in numbering.findall(qn("w:num")):
        if base is not None and num.get(qn("w:numId")) == str(base):
            abstract = num.find(qn("w:abstractNumId")).get(qn("w:val"))
    ids = [int(num.get(qn("w:numId"))) for num in numbering.findall(qn("w:num"))]
    new_id = str(max(ids, default=0) + 1)
    num = OxmlElement("w:num")
    num.set(qn("w:numId"), new_id)
    abstract_id = OxmlElement("w:abstractNumId")
    abstract_id.set(qn("w:val"), abstract or "0")
    num.append(abstract_id)
    override = OxmlElement("w:lvlOverride")
    override.set(qn("w:ilvl"), "0")
    start = OxmlElement("w:startOverride")
    start.set(qn("w:val"), "1")
    override.append(start)
    num.append(override)
    numbering.append(num)
    return new_id


def _number(paragraph: DocxParagraph, num_id: str) -> None:
    properties = paragraph._p.get_or_add_pPr()
    num_pr = OxmlElement("w:numPr")
    level = OxmlElement("w:ilvl")
    level.set(qn("w:val"), "0")
    number = OxmlElement("w:numId")
    number.set(qn("w:val"), num_id)
    num_pr.append(level)
    num_pr.append(number)
    properties.append(num_pr)


def _repeat_header(row: object) -> None:
    properties = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _no_split(row: object) -> None:
    properties = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    element = OxmlElement("w:cantSplit")
    element.set(qn("w:val"), "true")
    properties.append(element)


def render_docx(document: Document) -> bytes:
    docx = new_docx()
    styles = docx.styles
    styles["Normal"].font.name = "Times New Roman"
    styles["Normal"].font.size = Pt(11)
    section = docx.sections[0]
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    section.left_margin = section.right_margin = Inches(1)
    section.top_margin = section.bottom_margin = Inches(0.9)

    # The first page shows the heading block itself; the pages after it repeat the Re line and the legend.
    section.different_first_page_header_footer = True
    header = section.header.paragraphs[0]
    header.text = f"Re: {document.re_line}"
    if document.legend:
        section.header.add_paragraph().add_run(document.legend.upper()).bold = True
    for footer_part in (section.footer, section.first_page_footer):
        footer = footer_part.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run("Page ")
        _field(footer, "PAGE")
        footer.add_run(" of ")
        _field(footer, "NUMPAGES")

    if document.legend:
        legend = docx.add_paragraph()
        legend.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = legend.add_run(document.legend.upper())
        run.bold = True
    docx.add_paragraph(document.title.upper(), style="Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    table = docx.add_table(rows=0, cols=2)
    for line in document.heading:
        cells = table.add_row().cells
        cells[0].paragraphs[0].add_run(f"{line.label}:").bold = True
        cells[1].text = line.value
    _widths(table, [1.3, TEXT_WIDTH - 1.3])
    docx.add_paragraph()

    appendix_started = False
    for part in document.sections:
        if part.appendix and not appendix_started:
            disclaimer = docx.add_paragraph()
            disclaimer.add_run(document.footer).italic = True
            docx.add_section(WD_SECTION.NEW_PAGE)
            appendix_started = True
        _block(docx, part, 1)
    if not appendix_started:
        docx.add_paragraph().add_run(document.footer).italic = True
    out = io.BytesIO()
    docx.save(out)
    return out.getvalue()


__all__ = ["render_docx"]

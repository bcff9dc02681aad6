"""A PDF page as a picture, with a quoted passage marked on it: what a citation opens.

The page is drawn by PDFium (pypdfium2, its own binary: nothing is fetched) in a child
process with the bounds of PDF reading (`ingest.pdf.in_child`), since the file may be
hostile. The passage is found by PDFium's own text search, so the marks sit on the glyphs.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from assistant.settings import Limits
from ingest.pdf import in_child, sniff

SCALE = 1.6  # 72 dpi x 1.6: a page readable in the dialog without zooming
MARK = (255, 214, 0, 110)  # a highlighter's yellow, translucent
PROBE_WORDS = 6  # the passage is found by its first and its last few words


def render_page(path: Path, page: int, quote: str, limits: Limits) -> tuple[bytes, bool]:
    """(PNG of page `page`, counted from 1, whether the quote was found and marked);
    ParseError with a reason when the file cannot be drawn."""
    sniff(path.read_bytes())
    return in_child(_render, (str(path), page, quote), limits)


def _render(path: str, page_no: int, quote: str) -> tuple[bytes, bool]:
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(path, password="")
    page = pdf[page_no - 1]
    image = page.render(scale=SCALE).to_pil().convert("RGBA")
    boxes = _boxes(page.get_textpage(), quote)
    height = page.get_height()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))  # marks blend over the glyphs
    draw = ImageDraw.Draw(overlay)
    for left, bottom, right, top in boxes:
        draw.rectangle([left * SCALE - 1, (height - top) * SCALE - 1,
                        right * SCALE + 1, (height - bottom) * SCALE + 1], fill=MARK)
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue(), bool(boxes)


def _boxes(text_page, quote: str) -> list[tuple[float, float, float, float]]:
    """The rectangles of the quote on the page: from where its first words are found to the
    end of its last words (a quote runs across line breaks, which search alone misses)."""
    words = re.findall(r"\S+", quote)
    if not words:
        return []
    start = _find(text_page, " ".join(words[:PROBE_WORDS]), 0)
    if start is None:
        return []
    end = _find(text_page, " ".join(words[-PROBE_WORDS:]), start[0])
    last = end[0] + end[1] if end else start[0] + start[1]
    count = text_page.count_rects(start[0], last - start[0])
    return [text_page.get_rect(i) for i in range(count)]


def _find(text_page, probe: str, index: int) -> tuple[int, int] | None:
    searcher = text_page.search(probe, index=index)
    try:
        return searcher.get_next()
    finally:
        searcher.close()

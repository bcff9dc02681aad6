"""The cited page drawn with its quote marked (ingest.pdf_page): the marks sit where the
quote is, a quote the page does not hold marks nothing, and a hostile file is refused with a
reason instead of crashing the app."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from assistant.settings import Settings
from ingest.documents import ParseError
from ingest.pdf_page import MARK, render_page
from tests.pdf_builder import text_pdf

PAGES = [["Acme export policy", "", "1. Scope", "This policy covers every sale of network equipment",
          "outside the European Union by Acme Networks and its resellers."],
         ["2. Interception equipment", "", "A sale to a security agency needs the approval",
          "of the human rights committee."]]
QUOTE = ("This policy covers every sale of network equipment outside the European Union by "
         "Acme Networks and its resellers.")


def _yellow_rows(png: bytes) -> list[int]:
    """The pixel rows that carry the highlighter's colour."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    pixels = image.load()
    target = MARK[:3]
    return [y for y in range(height) if any(
        abs(pixels[x, y][0] - 255) < 8 and abs(pixels[x, y][1] - (255 + target[1]) // 2) < 40
        and pixels[x, y][2] < 160 for x in range(0, width, 4))]


def test_the_quote_is_marked_where_it_stands_on_the_page(tmp_path):
    pdf = tmp_path / "policy.pdf"
    pdf.write_bytes(text_pdf(PAGES))

    png, marked = render_page(pdf, 1, QUOTE, Settings(_env_file=None).limits)
    rows = _yellow_rows(png)

    assert marked and rows
    height = Image.open(io.BytesIO(png)).size[1]
    assert max(rows) < height / 4  # the quote is near the top of page 1, where it was written
    other, found = render_page(pdf, 2, QUOTE, Settings(_env_file=None).limits)
    assert not found and not _yellow_rows(other)  # page 2 does not hold it: nothing marked


@pytest.mark.parametrize("data, reason", [(b"", "empty"), (b"%PDF-1.7\n garbage", "damaged")])
def test_a_file_that_cannot_be_drawn_is_refused_with_a_reason(tmp_path, data, reason):
    pdf = tmp_path / "bad.pdf"
    pdf.write_bytes(data)
    with pytest.raises(ParseError, match=reason):
        render_page(pdf, 1, QUOTE, Settings(_env_file=None).limits)

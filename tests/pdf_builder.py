"""Small, valid PDFs that tests build for themselves (no fixture needed)."""

from __future__ import annotations

import zlib


def pdf_with_pages(streams: list[bytes]) -> bytes:
    """A minimal valid PDF with one page per FlateDecode content stream (Helvetica as /F1)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for stream in streams:
        objs.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
                    + b"\nendstream")
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                    b"<< /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objs))
        kids.append(len(objs))
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def text_pdf(pages: list[list[str]]) -> bytes:
    """A small, valid PDF with one page per list of lines (Helvetica, compressed streams)."""
    streams = []
    for lines in pages:
        ops = ["BT /F1 11 Tf 14 TL 72 740 Td"]
        ops += ["({}) Tj T*".format(ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)"))
                for ln in lines]
        streams.append(zlib.compress("\n".join([*ops, "ET"]).encode("latin-1")))
    return pdf_with_pages(streams)

"""Read the text of a PDF's pages in a child process with time and memory bounds.

A hostile PDF (a decompression bomb, thousands of pages, a broken object graph) can make a
parser hang or eat all memory; the child takes that risk instead of the ingest process.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from assistant.settings import Limits
from ingest.documents import ParseError

MEMORY_MB = 1536  # extra address space the child may use; PDFs that need more are refused
SIGNATURES = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
              b"PK\x03\x04": "a ZIP archive (a Word or other Office file?)", b"{\\rtf": "an RTF file"}


def sniff(data: bytes) -> None:
    """Refuse files that are plainly not PDFs before starting a parser."""
    if not data.strip():
        raise ParseError("the file is empty")
    if b"%PDF-" in data[:1024]:
        return
    for sig, what in SIGNATURES.items():
        if data.startswith(sig):
            raise ParseError(f"not really a PDF: it is {what} with a .pdf name")
    raise ParseError("damaged or not really a PDF (no PDF header)")


def read_pdf_pages(path: Path, limits: Limits) -> list[str]:
    """Raw text of each page, or ParseError with a reason a person understands."""
    sniff(path.read_bytes())
    return in_child(_pages, (str(path), limits.max_pages), limits)


def in_child(work, args: tuple, limits: Limits):
    """`work(*args)` in a child process with the time and memory bounds of PDF reading: its
    result, or ParseError with a reason (what `work` raised, a timeout, a crash)."""
    # fork, not spawn: spawn re-imports the parent's __main__ (a Streamlit or pytest runner).
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(work, args, child), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(limits.parse_seconds):
            raise ParseError(f"reading it took longer than {limits.parse_seconds:g} s "
                             "(HRDD_PARSE_SECONDS); it may be malformed")
        status, payload = parent.recv()
    except EOFError:
        proc.join(5)
        raise ParseError(f"the PDF reader stopped unexpectedly (exit code {proc.exitcode}); "
                         "the file may be malformed") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    if status == "error":
        raise ParseError(payload)
    return payload


def _child(work, args: tuple, conn) -> None:
    """Child process: bound the memory, run `work`, send back its result or why it failed."""
    import logging
    import resource

    # The bound is on top of what the forked child already maps (torch reserves a lot).
    with open("/proc/self/statm") as fh:
        mapped = int(fh.read().split()[0]) * resource.getpagesize()
    limit = mapped + MEMORY_MB * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # "incorrect startxref pointer" and kin
    try:
        conn.send(("ok", work(*args)))
    except ParseError as err:
        conn.send(("error", str(err)))
    except MemoryError:
        conn.send(("error", f"reading it needed more than {MEMORY_MB} MB of memory; "
                            "the file may be malformed (a decompression bomb?)"))
    except Exception as err:  # noqa: BLE001 - any parser failure means a damaged file
        conn.send(("error", f"damaged or not really a PDF ({type(err).__name__}: {err})"[:300]))
    finally:
        conn.close()


def _pages(path: str, max_pages: int) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError

    try:
        reader = PdfReader(path, strict=False)
    except (PdfReadError, ValueError, OSError) as err:
        raise ParseError(f"damaged or not really a PDF ({err})"[:300]) from None
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except (FileNotDecryptedError, NotImplementedError, PdfReadError):
            ok = 0
        if not ok:
            raise ParseError("password-protected: remove the password and ingest it again")
    n = len(reader.pages)
    if n > max_pages:
        raise ParseError(f"it has {n} pages; the limit is {max_pages} (HRDD_MAX_PAGES)")
    out = []
    for number, page in enumerate(reader.pages, 1):
        try:
            out.append(page.extract_text() or "")
        except FileNotDecryptedError:
            raise ParseError("password-protected: remove the password and ingest it again") from None
        except MemoryError:
            raise
        except LimitReachedError:  # pypdf's own cap on what one stream may inflate to
            raise ParseError(f"page {number} inflates to more data than the PDF reader allows; "
                             "the file may be malformed (a decompression bomb?)") from None
        except Exception:  # noqa: BLE001 - one unreadable page should not sink the document
            out.append("")
    return out

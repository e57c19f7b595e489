"""Bytes to ``str``: byte-order mark, strict UTF-8, the page's declared charset, then UTF-8
with replacement characters. Never raises on any byte string."""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

__all__ = ["bom_codec", "decode", "looks_binary", "web_charset"]


def _cp1252_bytes(error: UnicodeDecodeError) -> tuple[str, int]:
    # Stray cp1252 bytes inside UTF-8 (’ “ ” – … typed in a legacy editor) are common on
    # the web: map each undecodable byte through cp1252, or U+FFFD where cp1252 has none.
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", "replace"), error.end


codecs.register_error("cleaner-cp1252", _cp1252_bytes)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)


def utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark shows as a NUL in every other byte of mostly-ASCII text."""
    half = len(head) // 2
    if half < 2 or b"\x00" not in head:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def bom_codec(head: bytes) -> tuple[str, int] | None:
    """The codec a byte-order mark at the start of ``head`` names, and the mark's length.

    >>> bom_codec(b"\\xff\\xfe\\x00\\x00a\\x00\\x00\\x00")
    ('utf-32-le', 4)
    """
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    return None


# WHATWG decodes these labels with a superset, as browsers do: pages labelled ISO-8859-1 or
# ASCII are written in windows-1252 (curly quotes in 0x80-0x9F), GB2312 in GB18030, ...
_SUPERSETS = {"ascii": "cp1252", "iso8859-1": "cp1252", "iso8859-9": "cp1254", "iso8859-11": "cp874",
              "tis-620": "cp874", "gb2312": "gb18030", "gbk": "gb18030", "euc_kr": "cp949",
              "shift_jis": "cp932", "big5": "big5hkscs"}  # fmt: skip
# Printable ASCII, then escapes that escape codecs would rewrite.
_ASCII_PROBE = bytes(range(0x20, 0x7F)).replace(b"\\", b"") + b"\t\n\r\\n\\u0041"


@lru_cache(maxsize=64)
def web_charset(label: str) -> str | None:
    """The codec for a charset a page declares (``<meta>`` or HTTP), or None to ignore the
    declaration: unknown names, and codecs that would not read the page's ASCII markup as
    ASCII (EBCDIC, UTF-7, unicode-escape, base64). A declared UTF-16 or UTF-32 means UTF-8, as
    browsers read it (a page whose bytes really are UTF-16 carries a byte-order mark or NULs,
    both caught before); labels browsers read with a superset get the superset.

    >>> web_charset("ISO-8859-1"), web_charset("utf-16le"), web_charset("unicode-escape")
    ('cp1252', 'utf-8', None)
    """
    try:
        codec = codecs.lookup(label.strip().lower()).name
        if codec.startswith(("utf-16", "utf-32")):
            return "utf-8"
        codec = _SUPERSETS.get(codec, codec)
        return codec if _ASCII_PROBE.decode(codec) == _ASCII_PROBE.decode("ascii") else None
    except (LookupError, ValueError):  # LookupError too for codecs that are not text encodings
        return None


def _declared_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    if not match:
        return None
    codec = web_charset(match.group(1).decode("ascii", "replace"))
    # A page that declares UTF-8 but failed strict UTF-8 is damaged UTF-8, not another codec.
    return None if codec == "utf-8" else codec


def decode(data: bytes | bytearray | memoryview | str, *, charset: str | None = None) -> str:
    """Decode page bytes to text.

    Order: a byte-order mark (or the NUL pattern of UTF-16 without one); strict UTF-8 (declarations often lie, see the data README);
    ``charset``, one declared outside the page (HTTP's Content-Type), with replacement
    characters; the charset the page declares in ``<meta>``; UTF-8 with each bad byte read
    as cp1252 (U+FFFD where cp1252 has no character).

    >>> decode(b"caf\\xc3\\xa9")
    'café'
    >>> decode(b'<meta charset="windows-1252">caf\\xe9')[-4:]
    'café'
    >>> decode(b"It\\x92s \\xc3\\xa9t\\xc3\\xa9")
    'It’s été'
    >>> decode("café".encode("latin-1"), charset="iso-8859-1"), decode("café".encode(), charset="iso-8859-1")
    ('café', 'café')
    """
    if isinstance(data, str):
        return data
    data = bytes(data)
    found = bom_codec(data)
    if found:
        codec, length = found
        return data[length:].decode(codec, "replace")
    utf16 = utf16_without_bom(data[:4096])
    if utf16:
        return data.decode(utf16, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    transport = web_charset(charset) if charset else None
    if transport not in (None, "utf-8"):  # a declared UTF-8 that failed is damaged UTF-8
        return data.decode(transport, "replace")
    declared = _declared_charset(data[:4096])
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("utf-8", "cleaner-cp1252")


def looks_binary(data: bytes) -> bool:
    """True for bytes that are clearly not text (NUL bytes without a UTF-16/32 mark, or
    a gzip/PDF/image/zip signature), judged on the first 8 KiB.

    >>> looks_binary(b"%PDF-1.7 ...")
    True
    >>> looks_binary("héllo".encode()), looks_binary("héllo".encode("utf-16-le"))
    (False, False)
    """
    head = bytes(data[:8192])
    if bom_codec(head) or utf16_without_bom(head[:4096]):
        return False
    if head.startswith((b"\x1f\x8b", b"%PDF-", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return True
    return b"\x00" in head

"""Building WARC files by hand, for the tests of cleaner batch and cleaner.spark."""


def warc_record(kind: str, record_id: str, url: str, block: bytes, content_type: str) -> bytes:
    """One WARC/1.0 record (``kind``: response, request, warcinfo, conversion, ...)."""
    head = (
        f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{record_id}>\r\nWARC-Target-URI: {url}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(block)}\r\n\r\n"
    ).encode()
    return head + block + b"\r\n\r\n"

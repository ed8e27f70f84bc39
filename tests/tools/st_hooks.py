"""Schemathesis hooks for keiyaku: binary bodies (PDFs, RFC 3161 queries) are sent as raw
bytes."""
import schemathesis


@schemathesis.serializer("application/pdf", "application/timestamp-query")
def binary_serializer(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b"%PDF-1.7\n" + repr(value).encode()

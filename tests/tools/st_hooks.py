"""Schemathesis hooks for keiyaku: PDF bodies are sent as raw bytes."""
import schemathesis


@schemathesis.serializer("application/pdf")
def pdf_serializer(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b"%PDF-1.7\n" + repr(value).encode()

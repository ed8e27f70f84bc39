#!/usr/bin/env python3
"""Writes the last signature's CMS (DER) and the bytes its /ByteRange covers, for
`openssl cms -verify`. Usage: extract_cms.py SEALED.pdf OUT_CMS.der OUT_CONTENT.bin"""
import re
import sys

pdf = open(sys.argv[1], "rb").read()
ranges = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf))
if not ranges:
    sys.exit("no /ByteRange")
a, b, c, d = (int(x) for x in ranges[-1].groups())
contents = pdf[a + b + 1 : c - 1]
der = bytes.fromhex(contents.decode())
# The hex is zero-padded after the DER: cut at the outer SEQUENCE's length.
assert der[0] == 0x30, "CMS is a SEQUENCE"
n = der[1]
if n < 0x80:
    length = 2 + n
else:
    k = n & 0x7F
    length = 2 + k + int.from_bytes(der[2 : 2 + k], "big")
open(sys.argv[2], "wb").write(der[:length])
open(sys.argv[3], "wb").write(pdf[a : a + b] + pdf[c : c + d])

"""PAdES signatures (pyHanko): signing a PDF with a PKCS#12 key (tests, a server seal) and
verifying a signed PDF uploaded back.

Officials sign on their own machine with their USB token (PKCS#11) — pyHanko's CLI or a
CA's signing tool — and upload the result; docs/documents.md shows the PKCS#11 set-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TypeVar

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from core.errors import Invalid

log = logging.getLogger(__name__)
T = TypeVar("T")
SIGNATURE_FIELD = "QuyetDinh"


def _run(make: Callable[[], Awaitable[T]]) -> T:
    """Run pyHanko's coroutine to the end. Its synchronous wrappers call asyncio.run(),
    which fails in a thread whose event loop is running (an async server, a browser
    driver in tests); there the coroutine runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def pkcs12_signer(data: bytes, passphrase: bytes | None = None) -> signers.Signer:
    return signers.SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=passphrase)


def sign(pdf: bytes, signer: signers.Signer, field_name: str = SIGNATURE_FIELD) -> bytes:
    """A PAdES baseline (B-B) signature as an incremental update: the issued bytes stay the
    file's first bytes."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256")
    out = _run(lambda: signers.async_sign_pdf(writer, meta, signer=signer))
    return out.getvalue()


def trust_roots(setting: str | None) -> list[asn1_x509.Certificate]:
    """The certificates of a PEM bundle, given as a file path or as PEM text."""
    if not setting:
        return []
    data = setting.encode() if setting.lstrip().startswith("-----BEGIN") else Path(setting).read_bytes()
    if not pem.detect(data):
        return [asn1_x509.Certificate.load(data)]
    return [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]


def _padding_is_zero(pdf: bytes, byte_range: list[int]) -> bool:
    """The one part of the file a signature cannot cover is its own /Contents hex string;
    past the CMS structure it is zero padding. A byte changed there leaves the signature
    valid, so it is checked here: any change after signing is refused."""
    start, gap_end = byte_range[0] + byte_range[1], byte_range[2]
    hex_text = pdf[start:gap_end].strip().removeprefix(b"<").removesuffix(b">")
    raw = bytes.fromhex(hex_text.decode("ascii"))
    if len(raw) < 2 or raw[0] != 0x30:
        return False
    if raw[1] < 0x80:
        end = 2 + raw[1]
    else:
        size = raw[1] & 0x7F
        end = 2 + size + int.from_bytes(raw[2:2 + size], "big")
    return not any(raw[end:])


@dataclass(frozen=True)
class Signature:
    common_name: str
    emails: tuple[str, ...]
    subject: str  # the whole subject, as people read it (kept with the signed decision)


def _refuse(message: str) -> Invalid:
    return Invalid("The signed document is not accepted.", {"file": [message]})


def verify(pdf: bytes, roots: list[asn1_x509.Certificate], fetch_revocation: bool = False) -> Signature:
    """The last signature of ``pdf`` must be cryptographically intact, cover the whole file
    (nothing added or changed after it) and chain to one of ``roots``; returns its signer."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise _refuse("This is not a readable PDF file.") from exc
    if not signatures:
        raise _refuse("The PDF carries no digital signature.")
    if not roots:
        raise _refuse("No certification authority is configured for signatures (CONGVU_SIGNING_TRUST_ROOTS).")
    context = ValidationContext(trust_roots=roots, allow_fetching=fetch_revocation,
                                revocation_mode="soft-fail")
    try:
        status = _run(lambda: async_validate_pdf_signature(signatures[-1], context))
        padding_clean = _padding_is_zero(pdf, [int(x) for x in signatures[-1].byte_range])
    # pyHanko's validation errors are ValueErrors; a damaged signature can also surface as
    # an AttributeError from inside its digest computation.
    except (PdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        log.info("signature check failed: %s", exc)
        raise _refuse("The signature cannot be checked: the file is damaged or was changed.") from exc
    if not status.intact or not status.valid:
        raise _refuse("The signature does not match the document: it was changed after signing.")
    if status.coverage is None or status.coverage.name != "ENTIRE_FILE" or not padding_clean:
        raise _refuse("The document was changed after it was signed.")
    if not status.trusted:
        raise _refuse("The signer's certificate is not issued by a trusted certification authority.")
    if status.revoked:
        raise _refuse("The signer's certificate is revoked.")
    cert = status.signing_cert
    subject = cert.subject.native
    emails = [subject.get("email_address")] if subject.get("email_address") else []
    try:
        san = cert.subject_alt_name_value
    except ValueError:
        san = None
    for name in san.native if san is not None else []:
        if isinstance(name, str) and "@" in name:
            emails.append(name)
    return Signature(common_name=str(subject.get("common_name", "")), emails=tuple(e.lower() for e in emails),
                     subject=cert.subject.human_friendly)

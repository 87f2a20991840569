"""License service functions: issue (新发) exactly once per application, then suspend (暂扣), restore (发还),
withdraw (撤销), cancel (注销), revoke (吊销) a permit or the whole license, renew (延续) a permit; the signing keys.

Each change checks the actor and the transition table (licenses.status), writes an audit event and commits in
one transaction; reading (the live status, the publicity list) is in store.license_queries. Issuing writes a
`render_pdf` outbox message with the license: the certificate is rendered after the commit, from the stored rows
(`certificate`, then `store_certificate`, which also records the document key that signed it), by the dispatcher's
pool of processes; `ensure_pdf` renders a missing file on demand.

One module per section: `issuing`, `documents` (the certificate), `editions` (换发), `changes` (变更、延续 applied),
`lifecycle` (暂扣 … 吊销), `keys`; what more than one uses is in `common`. Callers use the names below.
"""

from __future__ import annotations

from onelicense.services.licenses.changes import apply_change
from onelicense.services.licenses.common import LicenseConfig
from onelicense.services.licenses.documents import (
    DOCUMENT_KEY_REVOKED_NOTICE,
    Certificate,
    certificate,
    document_key_revoked,
    ensure_pdf,
    identifier_of,
    license_document,
    license_number_for,
    pdf_when_ready,
    permits_of,
    record_document_signer,
    render_certificate,
    store_certificate,
    write_certificate,
)
from onelicense.services.licenses.editions import reissue
from onelicense.services.licenses.issuing import issue_license
from onelicense.services.licenses.keys import provision_keys, resign_licenses, revoke_signing_key, rotate_keys
from onelicense.services.licenses.lifecycle import change_license, change_permit, license_of_application, load_license

__all__ = [
    "DOCUMENT_KEY_REVOKED_NOTICE",
    "Certificate",
    "LicenseConfig",
    "apply_change",
    "certificate",
    "change_license",
    "change_permit",
    "document_key_revoked",
    "ensure_pdf",
    "identifier_of",
    "issue_license",
    "license_document",
    "license_number_for",
    "license_of_application",
    "load_license",
    "pdf_when_ready",
    "permits_of",
    "provision_keys",
    "record_document_signer",
    "reissue",
    "render_certificate",
    "resign_licenses",
    "revoke_signing_key",
    "rotate_keys",
    "store_certificate",
    "write_certificate",
]

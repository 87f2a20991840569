"""An upload's body is read only for a caller who is signed in (issue 17, M3): anonymous clients, made-up session
cookies and unknown tokens are refused before the server takes a byte of the file."""

from __future__ import annotations

from fastapi.testclient import TestClient

PATH = "/portal/drafts/" + "0" * 32 + "/materials/business_license"
BIG = b"%PDF-1.4\n" + b"x" * (2 * 1024 * 1024)


def test_uploads_need_live_credentials_before_the_body_is_read(client: TestClient) -> None:
    files = {"file": ("营业执照.pdf", BIG, "application/pdf")}
    anonymous = client.post(PATH, files=files)
    assert anonymous.status_code == 401 and "请先登录" in anonymous.json()["detail"]
    client.cookies.set("ol_session", "made-up-session-id")
    assert client.post(PATH, files=files).status_code == 401
    client.cookies.clear()
    unknown = client.post("/api/uploads", files=files, headers={"Authorization": "Bearer ol_not-a-token"})
    assert unknown.status_code == 401

"""The browser portal (门户): server-rendered Chinese pages for applicants (/portal), department reviewers (/desk)
and the service centre's supervisors (/board), on the same service layer as the API. Pages work without
JavaScript; htmx (served from /static) makes them livelier."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from onelicense.errors import OneLicenseError
from onelicense.web.portal import account, applicant, board, commitments, desk, files, license_life, ratings, signin
from onelicense.web.portal.common import SignInRequired, error_page, redirect

# the routes that take a material file: the body limit there is the upload cap, not the API's
UPLOAD_PATH_PATTERN = re.compile(r"/portal/(?:drafts|applications)/[0-9a-f]{32}/materials/[a-z0-9_]{1,64}|/api/uploads")
# a commitment's hand-in: several files in one form
HAND_IN_PATH_PATTERN = re.compile(r"/portal/obligations/[0-9a-f]{32}/fulfil")
HAND_IN_FILES = 4
STATIC = Path(__file__).resolve().parent.parent / "static"
PAGE_PREFIXES = ("/portal", "/desk", "/board", "/login", "/logout", "/register", "/files", "/samples", "/account")

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(account.router)
router.include_router(applicant.router)
router.include_router(desk.router)
router.include_router(board.router)
router.include_router(ratings.router)
router.include_router(files.router)
router.include_router(commitments.router)
router.include_router(license_life.router)


def is_page(request: Request) -> bool:
    path = request.url.path
    return path == "/" or any(path == p or path.startswith(p + "/") or path.startswith(p + ".") for p in PAGE_PREFIXES)


def install(app: FastAPI) -> None:
    """Mount the portal's routes and static files, and answer its errors as pages."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return redirect("/login?" + urlencode({"next": exc.next_url}), request)

    app.add_exception_handler(SignInRequired, sign_in_first)


def page_error(request: Request, exc: OneLicenseError) -> Response | None:
    """The portal's answer to one of our errors on a page route, or None for the API's JSON."""
    return error_page(request, exc) if is_page(request) else None

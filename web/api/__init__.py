"""JSON API (/api/...): applications, the department review queue, the catalog for applicants.

Each sub-router is a module of this package; routes stay thin and call the store's service functions, the
application flow or `web.api.actions`. Errors are answered by the handlers in web/errors.py."""

from fastapi import APIRouter

from web.api import admin, applications, forms, queue

router = APIRouter(prefix="/api")
router.include_router(applications.router)
router.include_router(queue.router)
router.include_router(forms.router)
router.include_router(admin.router)

"""JSON API (/api/...): applications, the department review queue, the catalog for applicants, admin work.

Each sub-router is a module of this package; routes stay thin and call the service layer. Errors are answered by
the handlers in web/errors.py. A query parameter a route does not declare is refused (422), not ignored: a typo
in a filter must not silently return everything."""

from fastapi import APIRouter, Depends, Request
from fastapi.dependencies.models import Dependant

from onelicense.forms.errors import FieldError, ValidationFailed
from onelicense.web.api import admin, applications, forms, holder, obligations, queue, supervision, uploads

OPEN_QUERY = "x-open-query"  # openapi_extra flag of a route that reads its query parameters itself


def known_query_parameters(request: Request) -> None:
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or (getattr(route, "openapi_extra", None) or {}).get(OPEN_QUERY):
        return
    known = _query_names(dependant)
    unknown = [key for key in dict.fromkeys(request.query_params) if key not in known]
    if unknown:
        hint = f"（可用：{'、'.join(sorted(known))}）" if known else "（此接口不接受查询参数）"
        raise ValidationFailed(
            [FieldError(key or "（空名称）", key or "（空名称）", f"未知的查询参数{hint}") for key in unknown],
            prefix="请求内容有误",
        )


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


router = APIRouter(prefix="/api", dependencies=[Depends(known_query_parameters)])
router.include_router(applications.router)
router.include_router(queue.router)
router.include_router(forms.router)
router.include_router(admin.router)
router.include_router(obligations.router)
router.include_router(uploads.router)
router.include_router(holder.router)
router.include_router(supervision.router)

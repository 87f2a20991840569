"""JSON API (/api/...): applications, the department review queue, license lifecycle."""

from fastapi import APIRouter

router = APIRouter(prefix="/api")

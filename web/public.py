"""Public pages: QR verification (/v/<token>), the publicity list, the published keys."""

from fastapi import APIRouter

router = APIRouter()

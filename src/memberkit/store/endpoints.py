"""REST endpoints of stores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from memberkit.api.context import ChainAdminContext, ReadContext
from memberkit.kit.schemas import Page, PageNumber, PageSize
from memberkit.store import service
from memberkit.store.schemas import (
    StoreIn,
    StoreList,
    StoreOut,
)

router = APIRouter(prefix="/api/v1/stores", tags=["stores"])


@router.post(
    "",
    status_code=201,
    response_model=StoreOut,
    responses={200: {"description": "The same store existed already"}},
)
def create_store(body: StoreIn, context: ChainAdminContext) -> JSONResponse:
    """Create a store; repeating the same request returns it with 200, other content is a 409."""
    with context.transaction() as session:
        store, created = service.create(
            session,
            program_id=context.program.id,
            code=body.code,
            name=body.name,
            type=body.type,
            city=body.city,
            active=body.active,
        )
        out = StoreOut.of(store)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("", response_model=StoreList)
def list_stores(
    context: ReadContext,
    city: str | None = None,
    active: bool | None = None,
    page: Annotated[PageNumber, Query()] = 1,
    page_size: Annotated[PageSize, Query()] = 50,
) -> StoreList:
    """List stores by code, optionally of one city or only active ones."""
    with context.transaction() as session:
        total, stores = service.listing(
            session,
            program_id=context.program.id,
            city=city,
            active=active,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
        return StoreList(
            items=[StoreOut.of(s) for s in stores],
            page=Page(page=page, page_size=page_size, total=total),
        )


@router.get("/{code}", response_model=StoreOut)
def get_store(code: str, context: ReadContext) -> StoreOut:
    """Return one store."""
    with context.transaction() as session:
        return StoreOut.of(service.get(session, program_id=context.program.id, code=code))


__all__ = ["datetime", "router"]

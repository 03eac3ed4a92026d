"""REST endpoints of API keys (admin keys not bound to a store): list, issue, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path

from memberkit.api.context import ChainAdminContext
from memberkit.auth import service
from memberkit.auth.schemas import (
    ApiKeyIn,
    ApiKeyOut,
    IssuedKeyOut,
)

router = APIRouter(prefix="/api/v1/apikeys", tags=["api keys"])


@router.get("", response_model=list[ApiKeyOut])
def list_keys(context: ChainAdminContext) -> list[ApiKeyOut]:
    """List the program's keys, revoked ones included (admin keys not bound to a store)."""
    with context.transaction() as session:
        return [
            ApiKeyOut.of(info) for info in service.list_keys(session, program_id=context.program.id)
        ]


@router.post("", status_code=201, response_model=IssuedKeyOut)
def issue_key(body: ApiKeyIn, context: ChainAdminContext) -> IssuedKeyOut:
    """Issue a key (unbound admin keys); the key is in this response only, store it now."""
    with context.transaction() as session:
        key = service.create(
            session,
            program_id=context.program.id,
            name=body.name,
            scope=body.scope,
            store_code=body.store_code,
        )
        return IssuedKeyOut(**vars(service.describe(session, key=key)), key=key)


@router.delete("/{ref}", response_model=ApiKeyOut)
def revoke_key(
    ref: Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[0-9a-f]+$")],
    context: ChainAdminContext,
) -> ApiKeyOut:
    """Revoke a key by its prefix or id (admin keys not bound to a store).

    The key is refused from the next request on, by every process. Revoking a revoked key
    changes nothing.
    """
    with context.transaction() as session:
        return ApiKeyOut.of(
            service.revoke(
                session,
                program_id=context.program.id,
                ref=ref,
                acting_key_id=context.principal.key_id,
            )
        )


__all__ = ["datetime", "router"]

"""Who is calling: a workspace principal, derived from the API key and nothing else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from loupe.kit.deps import SessionDep
from loupe.kit.errors import Forbidden, Unauthorized
from loupe.workspaces.models import Scope
from loupe.workspaces.service import WorkspaceService

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A workspace API key, sent as `Authorization: Bearer <key>`. Keys have `read` or `read`+`write` scope.",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="loupe"'}


@dataclass(frozen=True)
class Principal:
    """The caller. Every workspace-scoped query takes its workspace id from here."""

    workspace_id: uuid.UUID
    api_key_id: uuid.UUID
    scopes: frozenset[str]

    def can(self, scope: Scope) -> bool:
        return scope.value in self.scopes


async def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Send a workspace API key as `Authorization: Bearer <key>`.", headers=_CHALLENGE)
    key = await WorkspaceService(session).authenticate(credentials.credentials)
    if key is None:
        raise Unauthorized("The API key is not valid or was revoked.", headers=_CHALLENGE)
    return Principal(workspace_id=key.workspace_id, api_key_id=key.id, scopes=frozenset(key.scopes))


async def require_write(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.can(Scope.write):
        raise Forbidden("This API key is read-only; this operation needs the `write` scope.")
    return principal


ReadPrincipal = Annotated[Principal, Depends(get_principal)]
WritePrincipal = Annotated[Principal, Depends(require_write)]


def acting_for(workspace_id: uuid.UUID) -> Principal:
    """The principal of a public creator page: it acts on one workspace's data, reached through that
    workspace's invite or connect link, never through an API key."""
    return Principal(workspace_id=workspace_id, api_key_id=uuid.UUID(int=0), scopes=frozenset({"read", "write"}))

"""Who may call what, generated from the contract: every `/v1` operation declares the least role of a person
and the scope of a key it needs (`x-loupe-access`, from its `requires(...)` dependency), and one test calls
every operation as a person of every role, a person outside any workspace, and a key of every scope.

A refused caller gets 403 before anything is looked up; an allowed one gets past authorization (whatever
the fake ids and the missing body then answer: 404, 422…, never 401 or 403)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from loupe.kit.context import ProcessContext
from loupe.people.models import Role
from loupe.workspaces.models import Scope
from loupe.workspaces.service import WorkspaceService
from tests.conftest import Tenant
from tests.contract.support import PUBLIC_OPERATIONS, served_contract, v1_operations

OPERATIONS = v1_operations(served_contract())
DECLARED = {
    op_id: op.get("x-loupe-access") for op_id, (_, _, op) in OPERATIONS.items() if op_id not in PUBLIC_OPERATIONS
}
ROLES = [role.value for role in Role]  # least first
# The rule, written out here rather than read from the code: which needs a key's scope meets.
GRANTS = {
    "read": {"read"},
    "write": {"write", "read", "conversions"},
    "conversions": {"conversions"},
    "admin": {"admin", "read"},
}


def test_every_v1_operation_declares_the_role_and_scope_it_needs() -> None:
    undeclared = sorted(op_id for op_id, access in DECLARED.items() if access is None)
    assert not undeclared, (
        f"{undeclared} declare no access: give the route its principal with ReadPrincipal, WritePrincipal, "
        "AdminPrincipal, ConversionsPrincipal, PersonCaller or Annotated[Principal, requires(Role..., Scope...)] "
        "(loupe.workspaces.auth), or name it in PUBLIC_OPERATIONS if anyone may call it"
    )
    for op_id, access in DECLARED.items():
        assert access is not None
        assert access["role"] in [*ROLES, None] and access["scope"] in [*GRANTS, None], op_id
    assert set(OPERATIONS) >= PUBLIC_OPERATIONS, "a public operation is named that does not exist"
    assert not [op for op in PUBLIC_OPERATIONS if "x-loupe-access" in OPERATIONS[op][2]]


def _expected_allowed(access: dict[str, Any], caller: tuple[str, str | None]) -> bool:
    kind, value = caller
    if kind == "key":
        return access["scope"] is not None and access["scope"] in GRANTS[value or ""]
    if access["role"] is None:
        return True  # a person's own operation: any signed-in person
    return value is not None and ROLES.index(value) >= ROLES.index(access["role"])


def _url(path: str) -> str:
    for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
        path = path.replace(f"{{{name}}}", "0" if name == "index" else str(uuid.uuid4()))
    return path


async def test_every_operation_with_every_role_and_scope(
    client: httpx.AsyncClient, tenant: Tenant, make_member, db: ProcessContext
) -> None:  # type: ignore[no-untyped-def]
    callers: dict[tuple[str, str | None], dict[str, str]] = {}
    async with db.sessionmaker() as session, session.begin():
        for scope in GRANTS:
            _, secret = await WorkspaceService(session).create_key(
                uuid.UUID(tenant.workspace_id), scope, [Scope(scope)]
            )
            callers[("key", scope)] = {"Authorization": f"Bearer {secret}"}
    for role in ROLES:
        callers[("person", role)] = (await make_member(tenant.workspace_id, role)).headers
    outsider = await make_member(tenant.workspace_id, "viewer")
    await client.delete(f"/v1/team/members/{outsider.person_id}", headers=tenant.write)
    login = await client.post("/v1/auth/login", json={"email": outsider.email, "password": outsider.password})
    assert login.json()["workspace_id"] is None, login.text
    callers[("person", None)] = {"Authorization": f"Bearer {login.json()['access_token']}"}

    wrong = []
    for op_id, access in sorted(DECLARED.items()):
        assert access is not None
        method, path, _ = OPERATIONS[op_id]
        for caller, headers in callers.items():
            response = await client.request(method.upper(), _url(path), headers=headers)
            allowed = _expected_allowed(access, caller)
            if (allowed and response.status_code in (401, 403)) or (not allowed and response.status_code != 403):
                wrong.append(f"{op_id} {access} as {caller}: {response.status_code} {response.text[:120]}")
    assert not wrong, "\n".join(wrong)
    assert len(DECLARED) * len(callers) >= 70 * 9

"""`/docs` in Chromium against the live api: the Swagger UI loads from our own assets (the browser reaches
no other host), **Authorize** signs a person in with their email and password (the OAuth 2.0 password
grant), and "Try it out" then calls a secured operation as that person."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import Page, expect

from tests.conftest import Tenant
from tests.live import LiveStack


async def test_a_person_signs_in_from_docs_and_calls_the_api(
    live_stack: LiveStack, make_page: Callable[..., Awaitable[Page]], tenant: Tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    member = await make_member(tenant.workspace_id, "viewer")
    page = await make_page(1280)
    page.set_default_timeout(60_000)  # Swagger UI renders the whole contract (400 kB) before it answers clicks
    await page.goto(f"{live_stack.api}/docs")
    authorize = page.locator("button.btn.authorize")
    await authorize.click()

    dialog = page.locator(".modal-ux")
    sign_in = dialog.locator(".auth-container").filter(has_text="SignIn")
    await sign_in.locator("#oauth_username").fill(member.email)
    await sign_in.locator("#oauth_password").fill(member.password)
    await sign_in.locator("button.authorize").click()  # its accessible name is "Apply credentials"
    await expect(sign_in.locator("button", has_text="Logout")).to_be_visible()
    await dialog.locator("button.btn-done").first.click()

    await page.locator("#operations-tag-me").click()  # tags start folded
    operation = page.locator("#operations-me-me_get")
    await operation.locator(".opblock-summary").click()
    await operation.get_by_role("button", name="Try it out").click()
    await operation.get_by_role("button", name="Execute").click()
    response = operation.locator(".live-responses-table .response").first
    await expect(response.locator(".response-col_status")).to_have_text("200")
    await expect(response.locator(".response-col_description")).to_contain_text(member.email)

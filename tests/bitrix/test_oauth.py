"""The app's tokens: what an install form carries, and a renewal answered, refused or not answered by the
token server (replaced at the HTTP boundary)."""

from __future__ import annotations

import httpx
import pytest
import respx

from bitrix.errors import BitrixAuthError, BitrixRetryable
from bitrix.oauth import pair_from, renew

OAUTH = "https://oauth.bitrix.info"
# the token server's answer, from Bitrix24's documentation
ANSWER = {
    "access_token": "ydtj8pho532wydb5ixk78ol7uqlb7sch",
    "client_endpoint": "https://portal.bitrix24.com/rest/",
    "domain": "oauth.bitrix.info",
    "expires": 1780319382,
    "expires_in": 3600,
    "member_id": "a223c6b3710f85df22e9377d6c4f7553",
    "refresh_token": "3s6lr4kr3cv2od4v853gvrchb875bwxb",
    "scope": "crm,entity,im,task",
    "server_endpoint": "https://oauth.bitrix.info/rest/",
    "status": "F",
    "user_id": 67,
}


def test_a_pair_needs_both_tokens_the_portals_address_and_id():
    pair = pair_from(ANSWER, now=1000.0)
    assert pair is not None and pair.expires_at == 4600.0 and pair.user_id == 67
    for missing in ("access_token", "refresh_token", "client_endpoint", "member_id"):
        assert pair_from({k: v for k, v in ANSWER.items() if k != missing}) is None
    assert pair_from({**ANSWER, "client_endpoint": "javascript:alert(1)"}) is None


@respx.mock
async def test_a_renewal_returns_the_new_pair():
    route = respx.get(f"{OAUTH}/oauth/token/").mock(return_value=httpx.Response(200, json=ANSWER))
    async with httpx.AsyncClient() as http:
        pair = await renew(http, OAUTH, "app.1", "secret", "old-refresh", now=0.0)
    assert pair.refresh_token == ANSWER["refresh_token"] and pair.client_endpoint == ANSWER["client_endpoint"]
    sent = dict(route.calls.last.request.url.params)
    assert sent == {
        "grant_type": "refresh_token",
        "client_id": "app.1",
        "client_secret": "secret",
        "refresh_token": "old-refresh",
    }


@respx.mock
async def test_a_refused_renewal_is_an_auth_error_and_no_answer_is_retryable():
    respx.get(f"{OAUTH}/oauth/token/").mock(
        side_effect=[
            httpx.Response(400, json={"error": "PAYMENT_REQUIRED", "error_description": "Payment required"}),
            httpx.Response(502, text="<html>bad gateway</html>"),
            httpx.ConnectError("down"),
        ]
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(BitrixAuthError, match="PAYMENT_REQUIRED"):
            await renew(http, OAUTH, "app.1", "secret", "spent")
        with pytest.raises(BitrixRetryable):
            await renew(http, OAUTH, "app.1", "secret", "spent")
        with pytest.raises(BitrixRetryable):
            await renew(http, OAUTH, "app.1", "secret", "spent")

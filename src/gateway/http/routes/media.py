"""A client's photo or file, opened from Bitrix24 through a signed link the gateway put in the Open Line:
fetched from the platform with the bot's credentials, never with a link that would show them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain import FileSource, SendRejected, SendRetryable
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError
from gateway.http.webhooks import tenant_services
from gateway.usecases.manager_chat.media import MAX_FILE_BYTES, valid

router = APIRouter()


@router.get("/media/{tenant}/{channel}", summary="a client's file, by a signed link from the Open Line")
async def media(tenant: str, channel: str, request: Request, ref: str = "", e: str = "", s: str = "") -> Response:
    runtime = runtime_of(request)
    services = tenant_services(runtime, tenant)
    secret = runtime.config.secret_key
    expires = int(e) if e.isascii() and e.isdecimal() and len(e) <= 12 else 0  # anything else: not our link
    if secret is None or not ref or not valid(secret, tenant, channel, ref, expires, s, runtime.clock()):
        raise ApiError(403, "bad_link", "the link is not one the gateway made, or it has expired")
    source = services.raw_senders.get(channel)
    if not isinstance(source, FileSource):
        raise ApiError(404, "channel_not_configured", f"tenant {tenant!r} has no files on {channel!r}")
    try:
        body, content_type = await source.download(ref, MAX_FILE_BYTES)
    except SendRetryable:
        raise ApiError(503, "platform_unavailable", "the platform did not hand the file over; try again") from None
    except SendRejected:
        raise ApiError(404, "file_gone", "the platform no longer has this file") from None
    return Response(body, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})

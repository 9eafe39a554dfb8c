"""What a route gets from the app: the runtime the composition root built, typed."""

from __future__ import annotations

from starlette.requests import Request

from gateway.bootstrap import Runtime


def runtime_of(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    if not isinstance(runtime, Runtime):  # create_app always sets it; anything else is a wiring bug
        raise TypeError("the app has no Runtime in app.state.runtime")
    return runtime

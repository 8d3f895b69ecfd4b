"""API versions, negotiated the way dockerd does it."""

API_VERSION = "1.41"
MIN_API_VERSION = "1.12"
# What `docker version` shows as the engine version; the API is 20.10's.
ENGINE_VERSION = "20.10.99-tugboat"


def parse(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def supported(v: str) -> bool:
    try:
        return parse(MIN_API_VERSION) <= parse(v) <= parse(API_VERSION)
    except ValueError:
        return False

"""System service: /_ping, /version, /info.  CONTRACT STUB."""


class SystemService:
    def version(self) -> dict:
        raise NotImplementedError

    def info(self) -> dict:
        raise NotImplementedError

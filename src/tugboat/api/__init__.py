"""Wire-level facts shared by the server, the engine and the client: API versions,
time formats and the shapes the Docker Engine API v1.41 spec defines."""

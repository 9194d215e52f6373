import nock from "nock";

// Shared helpers import nock, whose interceptor would sit between Foreman and the fake GitHub
// server (and fails to re-send request bodies): the fault suite talks real HTTP, so take it out.
nock.restore();

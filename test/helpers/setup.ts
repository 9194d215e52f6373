import nock from "nock";
import { afterEach } from "vitest";

// GitHub is simulated at the HTTP boundary; nothing may reach the network. Loopback stays open
// for the app's own HTTP server in signature tests (PostgreSQL does not go through http).
nock.disableNetConnect();
nock.enableNetConnect((host) => host.startsWith("127.0.0.1") || host.startsWith("localhost"));

afterEach(() => {
  // Strict mocks: a mock nobody used is a failure as much as a request nobody mocked.
  const pending = nock.pendingMocks();
  nock.cleanAll();
  if (pending.length > 0) throw new Error(`unused GitHub mocks:\n  ${pending.join("\n  ")}`);
});

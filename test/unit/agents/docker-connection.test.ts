import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildDockerOptions,
  findDockerConnectionProblem,
  isLoopback,
  type ReadFile,
} from "../../../src/agents/docker-connection.js";
import { dockerOptionsFromHost } from "../../../src/agents/docker-runner.js";
import { EnvError, parseEnv } from "../../../src/config/env.js";

/** A directory as the injected reader sees it. */
function readFrom(files: Record<string, string>): ReadFile {
  return (path) => {
    if (path in files) return Buffer.from(files[path]!);
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
  };
}

const CERTS = readFrom({ "/certs/ca.pem": "CA", "/certs/cert.pem": "CERT", "/certs/key.pem": "KEY" });

describe("buildDockerOptions", () => {
  it.each([
    [undefined, { socketPath: "/var/run/docker.sock" }],
    ["", { socketPath: "/var/run/docker.sock" }],
    ["unix:///run/user/1000/docker.sock", { socketPath: "/run/user/1000/docker.sock" }],
    ["tcp://127.0.0.1:2375", { protocol: "http", host: "127.0.0.1", port: 2375 }],
    ["tcp://localhost", { protocol: "http", host: "localhost", port: 2375 }],
    ["tcp://[::1]:2375", { protocol: "http", host: "[::1]", port: 2375 }],
  ])("maps %j without TLS (a socket, or this host's loopback)", (host, expected) => {
    expect(buildDockerOptions({ host })).toEqual(expected);
    expect(dockerOptionsFromHost(host)).toEqual(expected);
  });

  it("uses HTTPS with the CA, client certificate and key of DOCKER_CERT_PATH (port 2376 by default)", () => {
    expect(buildDockerOptions({ host: "tcp://docker.internal", tlsVerify: true, certPath: "/certs" }, CERTS)).toEqual({
      protocol: "https",
      host: "docker.internal",
      port: 2376,
      ca: Buffer.from("CA"),
      cert: Buffer.from("CERT"),
      key: Buffer.from("KEY"),
    });
    expect(
      buildDockerOptions({ host: "tcp://10.0.0.5:3376", tlsVerify: true, certPath: "/certs" }, CERTS),
    ).toMatchObject({ protocol: "https", host: "10.0.0.5", port: 3376 });
  });

  it("refuses plain TCP to another host, naming the problem and both fixes", () => {
    const message =
      "DOCKER_HOST=tcp://docker.internal:2375: plain TCP to a daemon on another host, without TLS: anyone on the network " +
      "path could read and steer the daemon (root on its host) and the agents' containers, workspaces and secrets. Set " +
      "DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to a directory with ca.pem, cert.pem and key.pem (as for the docker " +
      "CLI), or, on a network you trust, DOCKER_ALLOW_INSECURE_TCP=true";
    expect(findDockerConnectionProblem({ host: "tcp://docker.internal:2375" })).toBe(message);
    expect(() => buildDockerOptions({ host: "tcp://docker.internal:2375" })).toThrow(message);
    expect(() => dockerOptionsFromHost("tcp://10.0.0.5")).toThrow("plain TCP to a daemon on another host");
    expect(buildDockerOptions({ host: "tcp://docker.internal:2375", allowInsecureTcp: true })).toEqual({
      protocol: "http",
      host: "docker.internal",
      port: 2375,
    });
  });

  it("refuses what it cannot honour: other schemes, certificates without verification, unreadable certificates", () => {
    expect(() => buildDockerOptions({ host: "ssh://me@host" })).toThrow(
      "DOCKER_HOST=ssh://me@host: not supported; use unix:///path/to/docker.sock, or tcp://host:port",
    );
    expect(findDockerConnectionProblem({ host: "tcp://docker.internal", certPath: "/certs" })).toBe(
      "DOCKER_CERT_PATH=/certs: set, but DOCKER_TLS_VERIFY is not; Foreman talks TLS to the daemon only with the " +
        "daemon's certificate verified: set DOCKER_TLS_VERIFY=1 (or unset DOCKER_CERT_PATH)",
    );
    const partial = readFrom({ "/certs/ca.pem": "CA", "/certs/cert.pem": "CERT" });
    expect(() =>
      buildDockerOptions({ host: "tcp://docker.internal", tlsVerify: true, certPath: "/certs" }, partial),
    ).toThrow(
      "DOCKER_CERT_PATH=/certs: cannot read key.pem (ENOENT); put the daemon's CA certificate, this client's " +
        "certificate and its key there as ca.pem, cert.pem and key.pem",
    );
  });

  it("knows this host's own addresses", () => {
    expect(["localhost", "127.0.0.1", "127.1.2.3", "[::1]", "::1", "LOCALHOST"].every(isLoopback)).toBe(true);
    expect(["docker.internal", "10.0.0.5", "128.0.0.1", "[fd00::1]", "localhost.example.com"].some(isLoopback)).toBe(
      false,
    );
  });
});

describe("the refusal at start", () => {
  function problemsOf(source: Record<string, string>): string[] {
    try {
      parseEnv(source);
    } catch (error) {
      if (error instanceof EnvError) return error.problems;
      throw error;
    }
    return [];
  }

  it("stops Foreman on plain TCP to another host, and not when agents are off or the operator allows it", () => {
    expect(problemsOf({ DOCKER_HOST: "tcp://docker.internal:2375" })).toEqual([
      expect.stringMatching(/^DOCKER_HOST=tcp:\/\/docker\.internal:2375: plain TCP to a daemon on another host/),
    ]);
    expect(problemsOf({ DOCKER_HOST: "tcp://docker.internal:2375", AGENTS_ENABLED: "false" })).toEqual([]);
    expect(problemsOf({ DOCKER_HOST: "tcp://docker.internal:2375", DOCKER_ALLOW_INSECURE_TCP: "true" })).toEqual([]);
    expect(problemsOf({ DOCKER_HOST: "tcp://127.0.0.1:2375" })).toEqual([]);
    expect(
      problemsOf({ DOCKER_HOST: "tcp://docker.internal", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/nonexistent" }),
    ).toEqual([expect.stringMatching(/^DOCKER_CERT_PATH=\/nonexistent: cannot read ca\.pem \(ENOENT\)/)]);
  });
});

// A real TLS handshake: certificates made by openssl, an HTTPS server that answers Docker's ping and
// requires a client certificate, and dockerode with the options above.
describe("TLS to a daemon, for real", () => {
  let dir: string;
  const servers: Server[] = [];

  function openssl(...args: string[]): void {
    try {
      execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT")
        throw new Error("openssl is missing: install it (sudo bash scripts/ci/install-packages.sh)", { cause: error });
      throw error;
    }
  }

  /** A certificate the CA `ca` signs for `cn`, with these extensions. */
  function makeCertificate(ca: string, name: string, cn: string, extensions: string): void {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(
      ...["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`],
    );
    openssl(
      ...["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}-key.pem`, "-CAcreateserial"],
      ...["-out", `${name}-cert.pem`, "-days", "2", "-extfile", `${name}.ext`],
    );
  }

  function read(file: string): Buffer {
    return readFileSync(join(dir, file));
  }

  /** An HTTPS "daemon" with this server certificate that, like dockerd --tlsverify, requires a client certificate of the test CA. */
  async function startDaemon(server: string): Promise<{ port: number; clients: string[] }> {
    const clients: string[] = [];
    const https = createServer(
      {
        key: read(`${server}-key.pem`),
        cert: read(`${server}-cert.pem`),
        ca: read("ca.pem"),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (request, response) => {
        const peer = (request.socket as TLSSocket).getPeerCertificate();
        clients.push(String(peer.subject?.CN ?? ""));
        response.writeHead(request.url?.endsWith("/_ping") ? 200 : 404, { "content-type": "text/plain" });
        response.end("OK");
      },
    );
    servers.push(https);
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    return { port: (https.address() as AddressInfo).port, clients };
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "foreman-docker-tls-"));
    for (const ca of ["ca", "impostor-ca"]) {
      openssl(
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", `${ca}-key.pem`, "-out", `${ca}.pem`, "-days", "2", "-subj", `/CN=Foreman test ${ca}`],
      );
    }
    const serverAuth = "extendedKeyUsage=serverAuth\n";
    makeCertificate("ca", "daemon", "docker daemon", `subjectAltName=DNS:localhost,IP:127.0.0.1\n${serverAuth}`);
    makeCertificate(
      "ca",
      "daemon-for-another-name",
      "docker daemon",
      `subjectAltName=DNS:docker.internal\n${serverAuth}`,
    );
    makeCertificate("impostor-ca", "impostor", "docker daemon", `subjectAltName=IP:127.0.0.1\n${serverAuth}`);
    makeCertificate("ca", "client", "foreman", "extendedKeyUsage=clientAuth\n");
    // DOCKER_CERT_PATH as the docker CLI expects it.
    mkdirSync(join(dir, "docker"));
    writeFileSync(join(dir, "docker", "ca.pem"), read("ca.pem"));
    writeFileSync(join(dir, "docker", "cert.pem"), read("client-cert.pem"));
    writeFileSync(join(dir, "docker", "key.pem"), read("client-key.pem"));
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  });

  function connect(port: number): Docker {
    return new Docker(
      buildDockerOptions({ host: `tcp://127.0.0.1:${port}`, tlsVerify: true, certPath: join(dir, "docker") }),
    );
  }

  it("pings the daemon over TLS, presenting the client certificate", async () => {
    const daemon = await startDaemon("daemon");
    expect(String(await connect(daemon.port).ping())).toBe("OK");
    expect(daemon.clients).toEqual(["foreman"]);
  });

  it("refuses a daemon whose certificate another CA signed, or that is for another name", async () => {
    const impostor = await startDaemon("impostor");
    await expect(connect(impostor.port).ping()).rejects.toMatchObject({
      code: expect.stringMatching(
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/,
      ),
    });
    const elsewhere = await startDaemon("daemon-for-another-name");
    await expect(connect(elsewhere.port).ping()).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    expect([...impostor.clients, ...elsewhere.clients]).toEqual([]);
  });

  it("without the client certificate the daemon refuses the handshake (so the one above was presented)", async () => {
    const daemon = await startDaemon("daemon");
    const {
      cert: _cert,
      key: _key,
      ...withoutClient
    } = buildDockerOptions({
      host: `tcp://127.0.0.1:${daemon.port}`,
      tlsVerify: true,
      certPath: join(dir, "docker"),
    });
    await expect(new Docker(withoutClient).ping()).rejects.toThrow();
    expect(daemon.clients).toEqual([]);
  });
});

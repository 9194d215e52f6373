/**
 * How Foreman reaches the Docker daemon: the docker CLI's variables (`DOCKER_HOST`,
 * `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`) turned into dockerode options. A daemon is root on its
 * host and sees every agent's workspace and secrets, so plain TCP is refused unless the daemon is
 * on this host (loopback) or the operator says the network is trusted (`DOCKER_ALLOW_INSECURE_TCP`).
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";

/** The daemon's address and how to secure it, as the operator set them. */
export interface DockerConnection {
  /** DOCKER_HOST: unset for /var/run/docker.sock, `unix:///path`, or `tcp://host[:port]`. */
  readonly host?: string | undefined;
  /** DOCKER_TLS_VERIFY: TLS, the daemon's certificate checked against ca.pem, this client known by cert.pem and key.pem. */
  readonly tlsVerify?: boolean;
  /** DOCKER_CERT_PATH: the directory of ca.pem, cert.pem and key.pem (default ~/.docker, as for the docker CLI). */
  readonly certPath?: string | undefined;
  /** DOCKER_ALLOW_INSECURE_TCP: plain TCP to a daemon off this host, on a network the operator trusts. */
  readonly allowInsecureTcp?: boolean;
}

/** The files in DOCKER_CERT_PATH, named as the docker CLI names them. */
export const DOCKER_CERT_FILES = Object.freeze({ ca: "ca.pem", cert: "cert.pem", key: "key.pem" } as const);

/** Reads one file; injected so tests can say what a directory holds. */
export type ReadFile = (path: string) => Buffer;

const DEFAULT_SOCKET = "/var/run/docker.sock";

/**
 * What is wrong with the connection settings, as one line naming the variable and the fix, or null.
 * Pure: it does not read the certificates (`buildDockerOptions` does).
 */
export function findDockerConnectionProblem(connection: DockerConnection): string | null {
  const host = connection.host ?? "";
  if (host === "" || host.startsWith("unix://")) return null;
  if (!host.startsWith("tcp://")) {
    return (
      `DOCKER_HOST=${host}: not supported; use unix:///path/to/docker.sock, or tcp://host:port ` +
      `(with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH for a daemon on another host)`
    );
  }
  const hostname = parseTcpHost(host)?.hostname;
  if (hostname === undefined)
    return `DOCKER_HOST=${host}: not a tcp://host:port address, e.g. tcp://docker.internal:2376`;
  if (connection.certPath !== undefined && !connection.tlsVerify) {
    return (
      `DOCKER_CERT_PATH=${connection.certPath}: set, but DOCKER_TLS_VERIFY is not; Foreman talks TLS to the daemon ` +
      `only with the daemon's certificate verified: set DOCKER_TLS_VERIFY=1 (or unset DOCKER_CERT_PATH)`
    );
  }
  if (connection.tlsVerify || connection.allowInsecureTcp || isLoopback(hostname)) return null;
  return (
    `DOCKER_HOST=${host}: plain TCP to a daemon on another host, without TLS: anyone on the network path could ` +
    `read and steer the daemon (root on its host) and the agents' containers, workspaces and secrets. Set ` +
    `DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to a directory with ca.pem, cert.pem and key.pem (as for the docker ` +
    `CLI), or, on a network you trust, DOCKER_ALLOW_INSECURE_TCP=true`
  );
}

/**
 * Turns the connection settings into dockerode options: the default socket, a `unix://` socket,
 * plain HTTP to a loopback (or explicitly trusted) `tcp://` daemon, or HTTPS with the CA, client
 * certificate and key of DOCKER_CERT_PATH (port 2376 unless given, 2375 for plain TCP). Throws an
 * Error whose message names the variable and the fix.
 */
export function buildDockerOptions(connection: DockerConnection, read: ReadFile = readFileSync): Docker.DockerOptions {
  const problem = findDockerConnectionProblem(connection);
  if (problem !== null) throw new Error(problem);
  const host = connection.host ?? "";
  if (host === "") return { socketPath: DEFAULT_SOCKET };
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  const url = parseTcpHost(host)!;
  if (!connection.tlsVerify) {
    return { protocol: "http", host: url.hostname, port: url.port === "" ? 2375 : Number(url.port) };
  }
  const dir = connection.certPath ?? join(homedir(), ".docker");
  const [ca, cert, key] = [DOCKER_CERT_FILES.ca, DOCKER_CERT_FILES.cert, DOCKER_CERT_FILES.key].map((file) => {
    try {
      return read(join(dir, file));
    } catch (error) {
      throw new Error(
        `DOCKER_CERT_PATH=${dir}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"}); put the ` +
          `daemon's CA certificate, this client's certificate and its key there as ca.pem, cert.pem and key.pem ` +
          `(as for the docker CLI), or point DOCKER_CERT_PATH at the directory that has them`,
        { cause: error },
      );
    }
  });
  return { protocol: "https", host: url.hostname, port: url.port === "" ? 2376 : Number(url.port), ca, cert, key };
}

/** True for this host's own addresses: `localhost`, 127.0.0.0/8, ::1. */
export function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return isIP(bare) === 6 && (bare === "::1" || bare === "0:0:0:0:0:0:0:1");
}

function parseTcpHost(host: string): URL | undefined {
  try {
    const url = new URL(`http://${host.slice("tcp://".length)}`);
    return url.hostname === "" ? undefined : url;
  } catch {
    return undefined;
  }
}

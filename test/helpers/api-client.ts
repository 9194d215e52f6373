import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { request } from "node:http";
import { expect } from "vitest";

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;

/** A response the client received, validated against the OpenAPI document. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, any> }>>;
  components: { schemas: Record<string, unknown> };
};

/**
 * A client for Foreman's `/api` that checks every response against `GET /api/openapi.json`
 * (JSON Schema 2020-12 with ajv and ajv-formats): the path and method are documented, the status
 * is one of the operation's, the content type is one it lists, and the body (each JSONL line, each
 * SSE `line` event) matches its schema. It also checks the security headers. A mismatch throws.
 */
export class ApiClient {
  readonly checked = new Set<string>();
  #validators = new Map<string, ValidateFunction>();

  private constructor(
    readonly base: string,
    readonly document: OpenApiDocument,
    private readonly ajv: Ajv2020,
  ) {}

  /** Fetch the document from a running Foreman and prepare the validator. */
  static async connect(base: string): Promise<ApiClient> {
    const response = await fetch(`${base}/api/openapi.json`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const document = JSON.parse(text) as OpenApiDocument;
    expect(document.openapi).toMatch(/^3\.1\./);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: "foreman-openapi.json", components: document.components });
    const client = new ApiClient(base, document, ajv);
    client.#verify("GET", "/api/openapi.json", response, text);
    return client;
  }

  /** Send a request and validate the response; `token` goes in the Authorization header. */
  async request(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse> {
    // node:http rather than fetch: nock's fetch interceptor cannot pass a request body through to loopback.
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const { status, headers, text } = await new Promise<{ status: number; headers: Headers; text: string }>(
      (resolve, reject) => {
        const req = request(
          `${this.base}${path}`,
          {
            method,
            headers: {
              ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
              ...(payload !== undefined
                ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) }
                : {}),
              ...options.headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              const collected = new Headers();
              for (const [name, value] of Object.entries(res.headers))
                if (value !== undefined) collected.set(name, Array.isArray(value) ? value.join(", ") : value);
              resolve({
                status: res.statusCode ?? 0,
                headers: collected,
                text: Buffer.concat(chunks).toString("utf8"),
              });
            });
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end(payload);
      },
    );
    return this.#verify(method, path, { status, headers }, text);
  }

  /**
   * Open a GET that streams (server-sent events): `text()` is what has arrived so far, `done` the
   * whole response once the server ends it, validated as `request` validates.
   */
  follow(path: string, options: { token?: string } = {}): { text(): string; done: Promise<ApiResponse> } {
    const chunks: Buffer[] = [];
    const done = new Promise<{ status: number; headers: Headers }>((resolve, reject) => {
      const req = request(
        `${this.base}${path}`,
        { method: "GET", headers: options.token ? { authorization: `Bearer ${options.token}` } : {} },
        (res) => {
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const collected = new Headers();
            for (const [name, value] of Object.entries(res.headers))
              if (value !== undefined) collected.set(name, Array.isArray(value) ? value.join(", ") : value);
            resolve({ status: res.statusCode ?? 0, headers: collected });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    }).then((response) => this.#verify("GET", path, response, Buffer.concat(chunks).toString("utf8")));
    return { text: () => Buffer.concat(chunks).toString("utf8"), done };
  }

  #verify(method: string, path: string, response: Pick<Response, "status" | "headers">, text: string): ApiResponse {
    const pathname = new URL(path, this.base).pathname;
    const template = Object.keys(this.document.paths).find((candidate) =>
      new RegExp(`^${candidate.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(pathname),
    );
    if (!template) throw new Error(`${method} ${pathname}: the OpenAPI document has no such path`);
    const operation = this.document.paths[template]![method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${template}: the OpenAPI document has no such operation`);
    const spec = operation.responses[String(response.status)] ?? operation.responses.default;
    if (!spec) throw new Error(`${method} ${template}: status ${response.status} is not documented (${text})`);
    for (const header of ["x-content-type-options", "referrer-policy", "x-frame-options", "content-security-policy"])
      if (!response.headers.get(header)) throw new Error(`${method} ${template}: no ${header} header`);
    if (response.headers.get("cache-control") !== "no-store")
      throw new Error(`${method} ${template}: Cache-Control is ${response.headers.get("cache-control")}, not no-store`);
    for (const name of Object.keys(spec.headers ?? {}))
      if (name.toLowerCase() !== "link" && !response.headers.get(name))
        throw new Error(`${method} ${template} ${response.status}: documented header ${name} missing`);
    const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
    let body: unknown = text;
    if (spec.content) {
      const media = spec.content[type];
      if (!media) throw new Error(`${method} ${template} ${response.status}: content type ${type} is not documented`);
      const where = `${method} ${template} ${response.status}`;
      if (type === "application/json" || type === "application/problem+json") {
        body = JSON.parse(text);
        this.#check(where, media.schema, body);
      } else if (type === "application/x-ndjson") {
        for (const line of text.split("\n").filter((entry) => entry.trim() !== ""))
          this.#check(`${where} (line)`, media["x-line-schema"], JSON.parse(line));
      } else if (type === "text/event-stream") {
        for (const event of text.split("\n\n")) {
          const data = /^event: line\ndata: (.*)$/m.exec(event);
          if (data) this.#check(`${where} (event)`, { $ref: "#/components/schemas/JobLogLine" }, JSON.parse(data[1]!));
        }
      }
    }
    this.checked.add(`${method} ${template} ${response.status}`);
    return { status: response.status, headers: response.headers, text, body };
  }

  #check(where: string, schema: Record<string, unknown>, value: unknown): void {
    const key = JSON.stringify(schema);
    let validate = this.#validators.get(key);
    if (!validate) {
      // The document's own references point into the schemas added as foreman-openapi.json.
      validate = this.ajv.compile(JSON.parse(key.replaceAll('"#/components/', '"foreman-openapi.json#/components/')));
      this.#validators.set(key, validate);
    }
    if (!validate(value))
      throw new Error(
        `${where}: the response does not match the OpenAPI document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`,
      );
  }
}

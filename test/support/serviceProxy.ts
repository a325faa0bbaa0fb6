/**
 * What sits between an XMPP server's module and the service in the native
 * tests, so a test can make the service unreachable or slow for the module
 * only (everything else keeps talking to serverless-offline directly):
 *
 * - `startServiceProxy`: a TCP proxy on loopback. `ok` pipes to the upstream;
 *   `down` accepts and resets at once (the module sees a transport failure,
 *   as with a dead endpoint); `slow` accepts and never answers (the module's
 *   own timeout must end the wait). Streams held in `slow` are cut when the
 *   mode changes.
 * - `startInProcessService`: the functions of serverless.yml served by a plain
 *   HTTP server in this process, with the environment the caller gives (e.g.
 *   REGISTRATION_INVITE_ONLY=false for open registration), to switch the proxy
 *   to when a test needs a differently configured service.
 * - `serveBehind`: both together, as the native tests use them: the service
 *   behind the proxy, and its open-registration copy switched in on demand.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { vi } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../../scripts/local/stack.js';
import { httpEvent, lambdaContext } from './lambda.js';

export type ProxyMode = 'ok' | 'down' | 'slow';

export interface ServiceProxy {
  port: number;
  url: string;
  mode: ProxyMode;
  setMode(mode: ProxyMode): void;
  /** Where `ok` pipes to. */
  setUpstream(port: number, host?: string): void;
  stop(): Promise<void>;
}

const listen = (server: Server | HttpServer): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });

export const startServiceProxy = async (upstream: { host?: string; port: number }): Promise<ServiceProxy> => {
  let target = { host: upstream.host ?? '127.0.0.1', port: upstream.port };
  let mode: ProxyMode = 'ok';
  const held = new Set<Socket>();
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    if (mode === 'down') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'slow') {
      // Read and drop: the request is sent, the answer never comes.
      held.add(client);
      client.on('data', () => undefined);
      client.on('close', () => held.delete(client));
      return;
    }
    const up = connect(target.port, target.host);
    open.add(up);
    up.on('close', () => open.delete(up));
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
    client.pipe(up).pipe(client);
  });
  const port = await listen(server);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    setMode(next) {
      mode = next;
      for (const s of held) s.destroy();
      held.clear();
    },
    setUpstream(p, host = '127.0.0.1') {
      target = { host, port: p };
    },
    stop: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

interface Route {
  method: string;
  pattern: RegExp;
  params: string[];
  routeKey: string;
  module: string;
  exportName: string;
  name: string;
  /** The function's Lambda timeout from serverless.yml: middy answers early when it runs out. */
  timeoutMs: number;
}

/** The httpApi routes of serverless.yml, so the in-process service serves exactly what is deployed. */
const routesFromServerlessYml = (): Route[] => {
  const doc = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
    provider?: { timeout?: number };
    functions: Record<string, { handler: string; timeout?: number; events?: { httpApi?: { method: string; path: string } }[] }>;
  };
  const routes: Route[] = [];
  for (const [name, fn] of Object.entries(doc.functions ?? {})) {
    for (const event of fn.events ?? []) {
      if (!event.httpApi) continue;
      const { method, path } = event.httpApi;
      const params: string[] = [];
      const pattern = new RegExp(
        `^${path.replace(/\{(\w+)\}/g, (_m, name: string) => {
          params.push(name);
          return '([^/]+)';
        })}$`
      );
      const [file, exportName] = fn.handler.split('.') as [string, string];
      routes.push({
        method: method.toUpperCase(),
        pattern,
        params,
        routeKey: `${method.toUpperCase()} ${path}`,
        module: file,
        exportName,
        name,
        timeoutMs: (fn.timeout ?? doc.provider?.timeout ?? 6) * 1000,
      });
    }
  }
  return routes;
};

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });

export interface InProcessService {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves the functions in this process with `env` merged into process.env.
 * Each call imports the handlers afresh (vi.resetModules), so two services in
 * one test file can run with different settings: configuration is read once
 * per module graph, as once per Lambda container.
 */
export const startInProcessService = async (env: Record<string, string>): Promise<InProcessService> => {
  vi.resetModules();
  Object.assign(process.env, env);
  const routes = routesFromServerlessYml();
  const modules = new Map<string, Record<string, unknown>>();
  for (const file of new Set(routes.map((r) => r.module))) {
    modules.set(file, (await import(pathToFileURL(join(ROOT, `${file}.ts`)).href)) as Record<string, unknown>);
  }
  // Same module graph as the handlers: the provisioner registry they share.
  const shared = (await import(pathToFileURL(join(ROOT, 'functions/wiring/xmpp.ts')).href)) as Record<string, unknown>;
  const server = createHttpServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not-found"}');
        return;
      }
      const match = route.pattern.exec(url.pathname) as RegExpExecArray;
      const pathParameters = Object.fromEntries(route.params.map((p, i) => [p, decodeURIComponent(match[i + 1] ?? '')]));
      const handler = modules.get(route.module)?.[route.exportName] as (
        e: unknown,
        c: unknown
      ) => Promise<{ statusCode?: number; headers?: Record<string, string>; body?: string }>;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
      const event = httpEvent({
        method: req.method ?? 'GET',
        path: url.pathname,
        routeKey: route.routeKey,
        pathParameters,
        query: Object.fromEntries(url.searchParams),
        headers,
        raw: await readBody(req),
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      });
      const deadline = Date.now() + route.timeoutMs;
      const out = await handler(event, { ...lambdaContext(route.name), getRemainingTimeInMillis: () => deadline - Date.now() });
      res.writeHead(out.statusCode ?? 200, out.headers ?? {}).end(out.body ?? '');
    } catch {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal"}');
    }
  });
  const port = await listen(server);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // The handlers' warm admin connection to the XMPP server (one per container).
      await (shared.xmpp as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => undefined);
    },
  };
};

export interface ServiceBehindProxy {
  /** The service as configured (invite-only registration). */
  service: InProcessService;
  /**
   * Points the proxy at a copy with REGISTRATION_INVITE_ONLY=false (started
   * the first time: configuration is read once per container), or back.
   */
  setOpenRegistration(open: boolean): Promise<void>;
  /** Stops both copies (not the proxy). */
  stop(): Promise<void>;
}

/** Serves the functions in this process with `env` and points `proxy` at them. */
export const serveBehind = async (proxy: ServiceProxy, env: Record<string, string>): Promise<ServiceBehindProxy> => {
  const service = await startInProcessService(env);
  proxy.setUpstream(service.port);
  let openService: InProcessService | undefined;
  return {
    service,
    setOpenRegistration: async (open) => {
      if (open) {
        openService ??= await startInProcessService({ ...env, REGISTRATION_INVITE_ONLY: 'false' });
        proxy.setUpstream(openService.port);
      } else {
        proxy.setUpstream(service.port);
      }
    },
    stop: async () => {
      await openService?.stop();
      await service.stop();
    },
  };
};

import { Agent, request } from 'node:http';

export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Nearest-rank percentiles of latencies in milliseconds. */
export const summarize = (samples: number[]): Summary => {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
  return { n: s.length, median: round(at(0.5)), p95: round(at(0.95)), min: round(s[0] ?? NaN), max: round(s[s.length - 1] ?? NaN) };
};

export const time = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
  const t = performance.now();
  const out = await fn();
  return [performance.now() - t, out];
};

/**
 * `clients` loops running `fn` until `durationMs` has passed (after a short
 * warm-up that is not counted): completed operations per second and their
 * latencies.
 */
export const runConcurrent = async (
  clients: number,
  durationMs: number,
  fn: (i: number) => Promise<void>,
  warmupMs = 500
): Promise<{ perSecond: number; count: number; errors: number; latency: Summary }> => {
  let counter = 0;
  const loop = async (until: number, record?: number[], errors?: { n: number }) => {
    while (performance.now() < until) {
      const i = counter++;
      const t = performance.now();
      try {
        await fn(i);
        record?.push(performance.now() - t);
      } catch (e) {
        if (!errors) throw e;
        errors.n++;
        if (errors.n === 1 && record) console.error(`    first error: ${(e as Error).message.slice(0, 200)}`);
      }
    }
  };
  const warmEnd = performance.now() + warmupMs;
  // Warm-up errors (a worker still starting) are not counted.
  await Promise.all(Array.from({ length: clients }, () => loop(warmEnd, undefined, { n: 0 })));
  const latencies: number[] = [];
  const errors = { n: 0 };
  const start = performance.now();
  await Promise.all(Array.from({ length: clients }, () => loop(start + durationMs, latencies, errors)));
  const elapsed = performance.now() - start;
  return {
    perSecond: round((latencies.length / elapsed) * 1000),
    count: latencies.length,
    errors: errors.n,
    latency: summarize(latencies),
  };
};

/** `fn` run `total` times by `clients` concurrent loops; latencies of each call. */
export const runCount = async (clients: number, total: number, fn: (i: number) => Promise<void>, tolerateErrors = false) => {
  let next = 0;
  let errors = 0;
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        try {
          await fn(i);
          latencies.push(performance.now() - t);
        } catch (e) {
          if (!tolerateErrors) throw e;
          errors++;
        }
      }
    })
  );
  return { perSecond: round((latencies.length / (performance.now() - start)) * 1000), errors, latency: summarize(latencies) };
};

/** Keep-alive HTTP/1.1 for every client in the benchmarks, ours and Prosody's alike. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export const http = async (
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {}
): Promise<HttpAnswer> => {
  try {
    return await once(url, options);
  } catch (e) {
    // A kept-alive socket the server closed meanwhile: the request never reached it.
    if ((e as { reused?: boolean }).reused) return once(url, options);
    throw e;
  }
};

const once = (url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<HttpAnswer> =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        host: u.hostname === 'localhost' ? '127.0.0.1' : u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: options.method ?? 'GET',
        headers: { host: u.host, ...(options.headers ?? {}) },
        agent,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      }
    );
    req.on('error', (e: Error & { code?: string; reused?: boolean }) => {
      if (req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) e.reused = true;
      reject(e);
    });
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });

export const closeHttp = () => agent.destroy();

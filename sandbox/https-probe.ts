import https from 'node:https';

/** GETs an HTTPS URL with a bearer token and CA; resolves with the status code (no redirects, short timeout). */
export function httpsStatus(url: string, opts: { ca: string; token: string; timeoutMs?: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca: opts.ca, headers: { authorization: `Bearer ${opts.token}` }, timeout: opts.timeoutMs ?? 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

/** GETs an HTTPS URL and returns the body text (used to read API server metrics). */
export function httpsText(url: string, opts: { ca: string; token: string; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca: opts.ca, headers: { authorization: `Bearer ${opts.token}` }, timeout: opts.timeoutMs ?? 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve(body) : reject(new Error(`GET ${url}: ${res.statusCode}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

// CORS in a real browser: a page served from another port fetch()es /predict.
// It works from an origin given to --cors-origins and is refused from any
// other; with the default "*" any origin may call; credentials never pass.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, startStatic, request, SEED_TRAIN } from './lib.mjs';

let allowed, refused, api, open, browser;

/* The static page: POSTs JSON to the API's /predict (a preflighted request)
 * and writes what happened into #result. */
const page = (apiUrl, credentials) => `<!doctype html><meta charset="utf-8"><title>other origin</title>
<pre id="result"></pre>
<script>
(async () => {
  const out = document.getElementById('result');
  try {
    const r = await fetch(${JSON.stringify(apiUrl)} + '/predict', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gender', inputs: [-7, -3] }),
      credentials: ${JSON.stringify(credentials || 'same-origin')},
    });
    out.textContent = JSON.stringify({ ok: true, status: r.status, body: await r.json() });
  } catch (e) {
    out.textContent = JSON.stringify({ ok: false, error: String(e) });
  }
})();
</script>`;

before(async () => {
    const apis = {};
    const routes = {
        '/': () => page(apis.current),
        '/credentials': () => page(apis.current, 'include'),
    };
    allowed = await startStatic(routes);
    refused = await startStatic(routes);
    api = await startServer(['--cors-origins', `${allowed.origin}, https://example.org`]);
    open = await startServer([]);
    for (const s of [api, open]) {
        const r = await request('POST', s.url + '/train?wait=true', SEED_TRAIN);
        assert.equal(r.status, 201, r.text);
    }
    apis.current = api.url;
    allowed.apis = apis;
    browser = await startBrowser();
});

after(async () => {
    if (browser) await browser.close();
    for (const s of [api, open]) if (s) await s.stop();
    for (const s of [allowed, refused]) if (s) await s.stop();
});

async function fetchFrom(origin, path, apiUrl) {
    allowed.apis.current = apiUrl;
    const p = await browser.context.newPage();
    try {
        await p.goto(origin + path);
        await p.waitForFunction(() => document.getElementById('result').textContent !== '', null, { timeout: 15000 });
        return JSON.parse(await p.textContent('#result'));
    } finally {
        await p.close();
    }
}

test('a listed origin may POST JSON to /predict (preflight included)', { timeout: 60000 }, async () => {
    const r = await fetchFrom(allowed.origin, '/', api.url);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.status, 200);
    assert.ok(r.body.outputs[0] > 0.5, `Emily: ${r.body.outputs[0]}`);

    const pre = await request('OPTIONS', api.url + '/predict', undefined, {
        Origin: allowed.origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], allowed.origin);
    assert.match(pre.headers['access-control-allow-methods'], /\bPOST\b/);
    assert.match(pre.headers['access-control-allow-headers'], /content-type/i);
    assert.match(pre.headers['access-control-allow-headers'], /authorization/i);
    assert.match(pre.headers.vary || '', /origin/i);
    assert.equal(pre.headers['access-control-allow-credentials'], undefined);
});

test('any other origin is refused: no Access-Control-Allow-Origin, fetch rejects', { timeout: 60000 }, async () => {
    const r = await fetchFrom(refused.origin, '/', api.url);
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.match(r.error, /TypeError/);

    for (const method of ['OPTIONS', 'POST']) {
        const res = await request(method, api.url + '/predict',
            method === 'POST' ? { model: 'gender', inputs: [-7, -3] } : undefined,
            { Origin: refused.origin, 'Access-Control-Request-Method': 'POST' });
        assert.equal(res.headers['access-control-allow-origin'], undefined, `${method}: ${JSON.stringify(res.headers)}`);
    }
});

test('the default "*" lets any origin call, and never allows credentials', { timeout: 60000 }, async () => {
    const r = await fetchFrom(refused.origin, '/', open.url);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(r.body.outputs[0] > 0.5);
    const res = await request('POST', open.url + '/predict', { model: 'gender', inputs: [-7, -3] }, { Origin: refused.origin });
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);

    // A page that asks to send credentials is refused by the browser, with "*" and with a list.
    for (const [origin, url] of [[refused.origin, open.url], [allowed.origin, api.url]]) {
        const c = await fetchFrom(origin, '/credentials', url);
        assert.equal(c.ok, false, `${origin} → ${url}: ${JSON.stringify(c)}`);
    }
});

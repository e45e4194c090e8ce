// The web page at / in a real browser: train the seed's network through the
// form and watch the live curve, predict Emily, explain one step, show an API
// error beside its field, cancel a long run, and ask for the API key on a 401.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, outPath } from './lib.mjs';

let server, browser;

before(async () => {
    server = await startServer();
    browser = await startBrowser();
});

after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
});

test('trains the seed network from the form, predicts Emily, explains the step', { timeout: 120000 }, async () => {
    const page = browser.page;
    await page.goto(server.url + '/');
    assert.equal(await page.title(), 'scratchnet');
    await page.waitForSelector('#server-status.ok');
    await page.waitForSelector('body[data-ready]');

    // The form is prefilled with the seed: four people, weight,height,female.
    const csv = await page.inputValue('#t-csv');
    assert.match(csv, /^weight,height,female\n-2,-1,1\n25,6,0\n17,4,0\n-15,-6,1/);
    assert.equal(await page.inputValue('#t-target'), 'female');
    assert.equal(await page.inputValue('#t-layers'), '2, 2, 1');

    // One click trains it; the curve is drawn from the SSE stream.
    await page.click('#train-button');
    await page.waitForFunction(() => document.querySelector('#run-status').textContent === 'succeeded', null, { timeout: 60000 });
    // A job that ends before the stream connects sends no epochs: the page then
    // draws the stored history, which it fetches after showing "succeeded".
    await page.waitForFunction(() => document.querySelector('#run-chart svg')?.getAttribute('data-points') === '1000', null, { timeout: 30000 });
    const progress = await page.$eval('#run-progress', (p) => ({
        epoch: p.dataset.epoch, epochs: p.dataset.epochs,
        width: document.querySelector('#run-bar').style.width,
        text: document.querySelector('#run-epochs').textContent,
    }));
    assert.equal(parseFloat(progress.width), 100);
    assert.deepEqual({ ...progress, width: undefined }, { epoch: '1000', epochs: '1000', width: undefined, text: 'epoch 1,000 / 1,000' });
    const chart = await page.$eval('#run-chart svg', (svg) => ({
        points: svg.getAttribute('data-points'),
        drawn: (svg.querySelector('polyline.train')?.getAttribute('points') || '').trim().split(/\s+/).length,
    }));
    assert.equal(chart.points, '1000');
    assert.ok(chart.drawn >= 500, `the train line has ${chart.drawn} points`);
    const finalLoss = Number(await page.textContent('#run-loss'));
    assert.ok(finalLoss > 0 && finalLoss < 0.05, `final loss ${finalLoss}`);

    // Log scale toggle on the live chart.
    await page.check('#run-chart .log-toggle');
    assert.match(await page.textContent('#run-chart svg'), /loss \(log scale\)/);

    // The registry shows the new version with its loss curve and settings.
    await page.waitForSelector('#model-list button[data-model="gender"]');
    await page.waitForSelector('#version-body:not(.hidden)');
    assert.match(await page.textContent('#version-title'), /gender · v1/);
    assert.equal(await page.$eval('#version-chart svg', (s) => s.getAttribute('data-points')), '1000');
    assert.match(await page.textContent('#version-hyper'), /sgd, lr 0\.1/);

    // Predict Emily (-7, -3) and Frank (20, 2).
    assert.equal(await page.inputValue('#p-model'), 'gender');
    await page.click('#predict-button');
    await page.waitForSelector('#predict-table tbody tr');
    const rows = await page.$$eval('#predict-table tbody tr', (trs) => trs.map((tr) => ({
        name: tr.querySelector('td b')?.textContent,
        out: Number(tr.querySelector('.out').dataset.value),
        shown: tr.querySelector('.out').textContent,
    })));
    assert.equal(rows.length, 2);
    assert.equal(rows[0].name, 'Emily');
    assert.ok(rows[0].out > 0.5, `Emily: ${rows[0].out}`);
    assert.ok(Math.abs(Number(rows[0].shown) - rows[0].out) < 1e-4, 'the page shows the output');
    assert.equal(rows[1].name, 'Frank');
    assert.ok(rows[1].out < 0.5, `Frank: ${rows[1].out}`);

    // Explain Alice's step: the seed's diagram with w1..w6 and each dL/dw.
    await page.click('#explain-button');
    await page.waitForSelector('#explain-diagram');
    for (const w of ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'b1', 'b2', 'b3']) {
        const text = await page.textContent(`#explain-diagram [data-param="${w}"]`);
        assert.match(text, new RegExp(`^${w} = -?[0-9.e-]+∂L/∂${w} = -?[0-9.e-]+$`), text);
    }
    for (const n of ['x1', 'x2', 'h1', 'h2', 'o1'])
        assert.ok(await page.$(`#explain-diagram [data-node="${n}"]`), n);
    assert.match(await page.textContent('#explain-out table.chain'), /∂L\/∂w1=∂L\/∂ŷ · ∂ŷ\/∂h1 · ∂h1\/∂w1/);

    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: outPath('page.png'), fullPage: true });
    assert.deepEqual(browser.problems, []);
});

test('shows a problem detail beside the field at fault', { timeout: 60000 }, async () => {
    const page = await browser.context.newPage();
    await page.goto(server.url + '/');
    await page.fill('#t-model', 'broken');
    await page.fill('#t-layers', '2, 0, 1');
    await page.click('#train-button');
    await page.waitForSelector('.field.invalid #t-layers');
    const msg = await page.textContent('#t-layers ~ .field-error');
    assert.match(msg, /layers\[1\]/);
    assert.match(await page.textContent('#train-error'), /400 Bad Request/);
    await page.close();
});

test('uploads the pasted CSV as a dataset and trains on it', { timeout: 60000 }, async (t) => {
    const page = await browser.context.newPage();
    try {
        await page.goto(server.url + '/');
        await page.waitForSelector('body[data-ready]');
        if (await page.isHidden('#data-source')) { t.skip('this server has no /dataset route'); return; }
        await page.fill('#t-dsname', 'people');
        await page.click('#upload-dataset');
        await page.waitForSelector('#dataset-block:not(.hidden)');
        assert.equal(await page.inputValue('#t-dataset'), 'people');
        assert.match(await page.textContent('#dataset-hint'), /weight, height → target: female/);
        await page.fill('#t-model', 'from-dataset');
        await page.click('#train-button');
        await page.waitForFunction(() => document.querySelector('#run-status').textContent === 'succeeded', null, { timeout: 30000 });
        assert.match(await page.textContent('#run-message'), /from-dataset v1/);
        // The same name again: 409, shown beside the dataset name.
        await page.click('#data-source button[data-src="csv"]');
        await page.click('#upload-dataset');
        await page.waitForSelector('.field.invalid #t-dsname');
        assert.match(await page.textContent('#train-error'), /409 Conflict/);
    } finally {
        await page.close();
    }
});

test('draws a long run live and cancels it from the button', { timeout: 120000 }, async () => {
    const page = await browser.context.newPage();
    await page.goto(server.url + '/');
    await page.fill('#t-model', 'long');
    // 64 rows and the most epochs the server allows: minutes of work, cancelled after a moment.
    const rows = Array.from({ length: 64 }, (_, i) => `${(i % 17) - 8},${(i % 5) - 2},${i % 2}`);
    await page.fill('#t-csv', 'weight,height,female\n' + rows.join('\n'));
    await page.fill('#t-epochs', '1000000');
    await page.click('#train-button');
    await page.waitForFunction(() => {
        const p = document.querySelector('#run-progress');
        return document.querySelector('#run-status').textContent === 'running' && Number(p.dataset.epoch) > 0;
    }, null, { timeout: 30000 });
    const live = await page.$eval('#run-chart svg', (s) => Number(s.getAttribute('data-points')));
    assert.ok(live > 0, 'epochs arrive while the job runs');
    assert.equal(await page.isDisabled('#cancel-button'), false);
    await page.click('#cancel-button');
    await page.waitForFunction(() => document.querySelector('#run-status').textContent === 'cancelled', null, { timeout: 30000 })
        .catch(async (e) => {
            const seen = await page.evaluate(() => [document.querySelector('#run-status').textContent,
                document.querySelector('#run-progress').dataset.epoch, document.querySelector('#run-message').textContent]);
            throw new Error(`${e.message}; the page shows ${JSON.stringify(seen)}; ${JSON.stringify(browser.problems)}`);
        });
    const epoch = Number(await page.$eval('#run-progress', (p) => p.dataset.epoch));
    assert.ok(epoch > 0 && epoch < 1000000, `stopped at epoch ${epoch}`);
    assert.match(await page.textContent('#run-message'), /Cancelled/);
    await page.close();
});

test('asks for the API key on a 401 and sends it as a bearer token', { timeout: 120000 }, async () => {
    const keyed = await startServer(['--api-key', 's3cret-key']);
    const page = await browser.context.newPage();
    try {
        await page.goto(keyed.url + '/');
        await page.fill('#t-model', 'keyed');
        await page.click('#train-button');
        await page.waitForSelector('#key-dialog[open]');
        assert.match(await page.textContent('#key-reason'), /API key/);
        await page.fill('#key-input', 's3cret-key');
        await page.click('#key-save');
        await page.waitForFunction(() => document.querySelector('#run-status').textContent === 'succeeded', null, { timeout: 60000 });
        assert.equal(await page.evaluate(() => sessionStorage.getItem('scratchnet.apiKey')), 's3cret-key');
        assert.equal(await page.textContent('#key-button'), 'API key: set');
    } finally {
        await page.close();
        await keyed.stop();
    }
});

// report_browser.js — renders a `zeval report` file in headless Chromium
// (Debian's /usr/bin/chromium, driven over the DevTools protocol by
// puppeteer-core) and checks what a reader sees.  Used by tests/test_report.c.
//
//   node tests/report_browser.js NODE_DIR REPORT.html NPLOTS PROBLEM_TEXT SAMPLE_TEXT
//
// NODE_DIR holds node_modules/puppeteer-core.  PROBLEM_TEXT: a substring of
// the summary of the problem to open; SAMPLE_TEXT: a substring of the text of
// its first candidate.  Prints one line per check: "OK name" or "BAD name: why".
'use strict';
const path = require('path');
const [nodeDir, report, nplotsArg, problemText, sampleText] = process.argv.slice(2);
const puppeteer = require(path.resolve(nodeDir, 'node_modules', 'puppeteer-core'));
const HOSTILE = ['<script>window.pwned=1</script>', '</textarea>',
                 '"><img src=x onerror=window.pwned=2>', '&amp;'];

function check(name, ok, why) {
  console.log(ok ? `OK ${name}` : `BAD ${name}: ${why}`);
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--allow-file-access-from-files'],
  });
  try {
    const page = await browser.newPage();
    const errors = [], requests = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    const url = 'file://' + path.resolve(report);
    await page.goto(url, { waitUntil: 'load' });

    const plots = await page.evaluate(() => Array.from(document.querySelectorAll('svg.plot'))
      .map((s) => ({
        kind: s.getAttribute('data-plot'),
        drawn: Array.from(s.querySelectorAll('.pt')).filter((e) => {
          const b = e.getBBox(); return b.width > 0 && b.height > 0;
        }).length,
      })));
    const nplots = parseInt(nplotsArg, 10);
    check('plots', plots.length === nplots,
          `${plots.length} svg.plot elements, expected ${nplots}`);
    const empty = plots.filter((p) => p.drawn === 0).map((p) => p.kind);
    check('plot_points', plots.length > 0 && empty.length === 0,
          `plots without drawn data points: ${empty.join(', ')}`);

    // Drill-down: closed at first, opens on a click and shows the text.
    const before = await page.evaluate((t) => {
      // closed <details> content is hidden with content-visibility, not display
      const isVisible = (e) => (e.checkVisibility ? e.checkVisibility()
                                                  : e.getClientRects().length > 0);
      const d = Array.from(document.querySelectorAll('details.p'))
        .find((x) => x.querySelector('summary').textContent.includes(t));
      if (!d) return null;
      d.setAttribute('data-test', 'target');
      const pre = d.querySelector('.r details pre');
      return { open: d.open, visible: pre ? isVisible(pre) : null };
    }, problemText);
    check('drill_found', before !== null, `no problem whose summary contains ${problemText}`);
    if (before) {
      check('drill_closed', !before.open && before.visible === false,
            `before the click: open=${before.open} text visible=${before.visible}`);
      await page.click('details[data-test=target] > summary');
      await page.click('details[data-test=target] .r details > summary');
      const after = await page.evaluate(() => {
        // closed <details> content is hidden with content-visibility, not display
      const isVisible = (e) => (e.checkVisibility ? e.checkVisibility()
                                                  : e.getClientRects().length > 0);
        const d = document.querySelector('details[data-test=target]');
        const s = d.querySelector('.r details');
        const pre = s.querySelector('pre');
        return { open: d.open && s.open, visible: isVisible(pre), text: pre.innerText,
                 page: document.body.innerText };
      });
      check('drill_opens', after.open && after.visible,
            `after the click: open=${after.open} visible=${after.visible}`);
      check('drill_text', after.text.includes(sampleText),
            `the opened sample shows ${JSON.stringify(after.text.slice(0, 200))}`);
      const missing = HOSTILE.filter((h) => !after.page.includes(h));
      check('hostile_as_text', missing.length === 0,
            `not shown literally on the page: ${JSON.stringify(missing)}`);
    }
    const dom = await page.evaluate(() => ({
      pwned: typeof window.pwned,
      scripts: document.querySelectorAll('script').length,
      imgs: document.querySelectorAll('img').length,
      textareas: document.querySelectorAll('textarea').length,
    }));
    check('not_pwned', dom.pwned === 'undefined' && dom.scripts === 0 && dom.imgs === 0 &&
          dom.textareas === 0, `window.pwned is ${dom.pwned}; ${dom.scripts} script, ` +
          `${dom.imgs} img, ${dom.textareas} textarea elements`);
    check('no_console_errors', errors.length === 0, JSON.stringify(errors.slice(0, 5)));
    const foreign = requests.filter((u) => u !== url);
    check('no_network', foreign.length === 0, `requests: ${JSON.stringify(foreign.slice(0, 5))}`);
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.log(`BAD browser: ${String(e && e.stack || e).split('\n').slice(0, 3).join(' | ')}`);
  process.exit(1);
});

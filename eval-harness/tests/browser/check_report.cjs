// Opens an HTML report in headless Chromium (through playwright-core), uses it as a person
// would (filter, choose failing pairs, sort, open a transcript) and prints what it saw as JSON
// for the Rust test to check. A screenshot goes where the second argument says.
//
// usage: node check_report.cjs <report.html> <screenshot.png> [--load-only]
// With --load-only it only opens the page and says how long that took (to measure a big run's
// report: the time from navigation to the table's first rows).
"use strict";
const { chromium } = require("playwright-core");
const { pathToFileURL } = require("url");

async function main() {
  const [report, screenshot] = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // As root in a container, with no network: no sandbox, no background connections.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const seen = { consoleErrors: [], pageErrors: [], requests: [] };
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (message) => {
      if (message.type() === "error") seen.consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => seen.pageErrors.push(String(error)));
    page.on("request", (request) => {
      const url = request.url();
      if (!url.startsWith("file:") && !url.startsWith("data:")) seen.requests.push(url);
    });
    const started = Date.now();
    await page.goto(pathToFileURL(report).href, { waitUntil: "load" });
    await page.waitForSelector("#pair-table tbody tr");
    seen.loadMs = Date.now() - started;
    if (process.argv.includes("--load-only")) {
      seen.rows = await page.$$eval("#pair-table tbody tr", (trs) => trs.length);
      seen.shown = await page.textContent("#shown");
      await page.screenshot({ path: screenshot });
    } else {
      await usePage(page, seen, screenshot);
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

// Filters, sorts and opens a transcript as a person would, noting what each step shows.
async function usePage(page, seen, screenshot) {
  const rows = () =>
    page.$$eval("#pair-table tbody tr", (trs) =>
      trs.map((tr) => ({
        status: tr.className.split(" ")[0],
        cells: Array.from(tr.children).map((td) => td.textContent),
      }))
    );
  seen.title = await page.title();
  seen.summary = await page.textContent("#summary");
  seen.all = await rows();
  seen.shown = await page.textContent("#shown");

  await page.fill("#filter", "paris");
  seen.filtered = await rows();
  await page.fill("#filter", "");

  await page.selectOption("#status", "failed");
  seen.failing = await rows();
  await page.selectOption("#status", "changed");
  seen.changed = await rows();
  await page.selectOption("#status", "all");

  await page.click('#pair-table th[data-sort="score"]');
  seen.byScore = await rows();
  await page.click('#pair-table th[data-sort="score"]');
  seen.byScoreDescending = await rows();

  await page.fill("#filter", "paris");
  await page.click("#pair-table tbody tr");
  seen.transcriptHidden = await page.$eval("#transcript", (s) => s.hidden);
  seen.transcriptTask = await page.textContent("#transcript-task");
  seen.transcript = await page.textContent("#transcript-body");
  await page.fill("#filter", "");

  seen.trendCharts = await page.$$eval("svg.trend", (svgs) => svgs.map((svg) => svg.querySelectorAll("circle").length));
  seen.injected = await page.evaluate(() => ({
    pwned: window.__pwned === undefined ? null : window.__pwned,
    images: document.querySelectorAll("img").length,
    scripts: document.querySelectorAll("script").length,
  }));
  await page.screenshot({ path: screenshot, fullPage: true });
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});

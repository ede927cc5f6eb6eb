// Opens a rabbit-bench HTML report in headless Chromium (Debian's, driven by playwright-core: no
// browser download) and says what a reader would see: console errors, failed requests, and for
// every chart whether ECharts drew it. Used by the report's browser test and by
// `npm run report:screenshots`.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Debian puts Chromium; RB_CHROMIUM names another. */
export function chromiumPath(): string | null {
  const candidates = [process.env.RB_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p)) ?? null;
}

export interface ChartState {
  id: string;
  kind: string;
  /** ECharts made an instance for the element. */
  initialised: boolean;
  /** Drawn SVG shapes (paths, rects, texts) inside the chart: 0 means an empty box. */
  shapes: number;
  width: number;
  height: number;
}

export interface PageState {
  consoleErrors: string[];
  failedRequests: string[];
  sections: string[];
  charts: ChartState[];
}

export interface ReportBrowser {
  /** Loads the page and waits for the charts. */
  open(htmlFile: string): Promise<PageState>;
  /** Screenshot of the last opened page: the whole page, or one report section (data-kind). */
  screenshot(file: string, kind?: string): Promise<void>;
  close(): Promise<void>;
}

// The machine may have no network: background services would only fail, loudly, on every start.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

export async function launchReportBrowser(executablePath: string, viewport = { width: 1280, height: 900 }): Promise<ReportBrowser> {
  const browser: Browser = await chromium.launch({ executablePath, headless: true, args: ARGS });
  let page: Page | undefined;
  return {
    async open(htmlFile) {
      await page?.close();
      page = await browser.newPage({ viewport });
      const consoleErrors: string[] = [];
      const failedRequests: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      page.on('requestfailed', (r) => failedRequests.push(r.url()));
      // A self-contained page asks for nothing but itself.
      page.on('request', (r) => { if (!r.url().startsWith('file:')) failedRequests.push(`network: ${r.url()}`); });
      await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
      const state = await page.evaluate(() => {
        const echarts = (window as unknown as { echarts?: { getInstanceByDom(el: Element): unknown } }).echarts;
        const charts = [...document.querySelectorAll('.chart')].map((el) => {
          const box = el.getBoundingClientRect();
          return {
            id: el.id,
            kind: (el as HTMLElement).dataset.kind ?? '',
            initialised: !!echarts?.getInstanceByDom(el),
            shapes: el.querySelectorAll('svg path, svg rect, svg text').length,
            width: box.width,
            height: box.height,
          };
        });
        const sections = [...document.querySelectorAll('section.report')].map((s) => (s as HTMLElement).dataset.kind ?? '');
        return { charts, sections };
      });
      return { consoleErrors, failedRequests, ...state };
    },
    async screenshot(file, kind) {
      if (!page) throw new Error('open a page first');
      if (kind === undefined) await page.screenshot({ path: file, fullPage: true });
      else await page.locator(`section.report[data-kind="${kind}"]`).first().screenshot({ path: file });
    },
    async close() {
      await browser.close();
    },
  };
}

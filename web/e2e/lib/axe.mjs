// axe-core in the page: the WCAG 2.x A/AA rules and best practices, plus
// label-content-name-mismatch (an "experimental" rule, switched on: the
// visible text of a control must be part of its accessible name).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');

/** The serious and critical violations on the page as it is now. */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      rules: { 'label-content-name-mismatch': { enabled: true } },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      count: v.nodes.length,
      example: v.nodes[0]?.target?.join(' ') + ' — ' + (v.nodes[0]?.failureSummary ?? '').slice(0, 300),
    }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

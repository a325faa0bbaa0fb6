/**
 * The bench's report step on its own, against the last recorded run
 * (bench/results.json), without measuring anything: docs/benchmarks.md is
 * what the bench writes from that run, and judging the run's measurements
 * again gives the targets it recorded.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { benchmarksPage, PAGE, RESULTS, type Run } from '../../bench/report.js';
import { judge } from '../../bench/targets.js';

const run = JSON.parse(readFileSync(RESULTS, 'utf8')) as Run;

describe('bench report', () => {
  it('docs/benchmarks.md is the page the bench writes from bench/results.json (run `npm run bench:report` after editing the template)', () => {
    const page = `${benchmarksPage(run.date, run.machine, run.results, run.targets).trimEnd()}\n`;
    expect(readFileSync(PAGE, 'utf8')).toBe(page);
    expect(page).toContain(`Measured ${run.date.slice(0, 10)}`);
  });

  it("judging the run's measurements again gives the targets it recorded", () => {
    const r = run.results;
    const { targets } = judge({
      redeem: r.redeem,
      inApp: r.inApp,
      issue: r.issue as Parameters<typeof judge>[0]['issue'],
      check: r.check,
      check10k: r.check.sequential10k,
      bundles: r.bundles,
      importFloor: r.importFloor,
      cost: r.cost,
      rateLimits: r.rateLimits,
    });
    expect(targets).toEqual(run.targets);
  });
});

/**
 * The most common mistakes in a rules section, as a user writes them in the config file: each is
 * said under its key and line, with what is wrong and what to write instead.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors/errors.js';
import { loadConfigFile } from './load.js';

const HEAD = 'destinations:\n  - { name: erp, type: rest, baseUrl: "http://127.0.0.1:4010", token: t0k3n }\nrules:\n';

/** The problems of a config file whose `rules:` section is `rules` (indented under it), as [key (line N), message]. */
function problems(rules: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'ab-mistakes-'));
  const file = join(dir, 'assetbridge.yaml');
  writeFileSync(file, HEAD + rules.replace(/^/gm, '  '));
  try {
    loadConfigFile(file, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('the common mistakes in a rules section', () => {
  it('a duration written as words, or as ISO 8601, says the form to write', () => {
    expect(problems('allowedLateness: 5min\nidleAfter: PT5M\n')).toEqual([
      'rules.allowedLateness (line 4): "5min" is not a duration; write 5m (units: ms, s, m, h, d)',
      'rules.idleAfter (line 5): "PT5M" is not a duration: ISO 8601 durations are not read here; write 5m (units: ms, s, m, h, d)',
    ]);
  });

  it('a work-order snapshot bound written as ISO 8601 or in digits says the form to write, naming rules.maintenance.snapshotMaxAge', () => {
    expect(problems('maintenance:\n  snapshotMaxAge: PT30M\n')).toEqual([
      'rules.maintenance.snapshotMaxAge (line 5): "PT30M" is not a duration: ISO 8601 durations are not read here; write 30m (units: ms, s, m, h, d)',
    ]);
    expect(problems('maintenance:\n  snapshotMaxAge: 15\n')).toEqual([
      'rules.maintenance.snapshotMaxAge (line 5): 15 would be 15 milliseconds (digits alone are milliseconds): write the unit, e.g. 15s or 15m (15ms if milliseconds are meant)',
    ]);
  });

  it('an unknown severity says the three there are, the one most likely meant, and what it decides', () => {
    expect(problems('maintenance:\n  thresholds:\n    - { name: hot, sensor: t, above: 95, severity: high }\n    - { name: warm, sensor: t, above: 80, severity: Warning }\n  alerts:\n    - { name: faults, minSeverity: error }\n')).toEqual([
      "rules.maintenance.thresholds.0.severity (line 6): \"high\" is not a severity: use info, warning or critical (did you mean critical?); critical gives the rule's work orders priority HIGH, info and warning MEDIUM",
      'rules.maintenance.thresholds.1.severity (line 7): "Warning" is not a severity as written: write it in lower case, warning',
      'rules.maintenance.alerts.0.minSeverity (line 9): "error" is not a severity: use info, warning or critical (did you mean critical?)',
    ]);
  });

  it('a zones file that is not there says which, where it was looked for, and what to do', () => {
    const p = problems('zones:\n  files: [./zones/sites.geojson]\n');
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^rules\.zones\.files\.0 \(line 5\): cannot read the GeoJSON zones file \/\S+\/zones\/sites\.geojson \(no such file or directory\): fix the path \(a relative one is taken from the config file's directory\), or remove the entry$/);
  });

  it('an appliesTo naming an asset attribute as its own key says how to write it under attributes', () => {
    expect(problems('maintenance:\n  thresholds:\n    - { name: hot, sensor: t, above: 95, appliesTo: { site: BER } }\n    - { name: cold, sensor: t, below: 5, appliesTo: { group: [EU, US] } }\n    - { name: wet, sensor: h, above: 90, appliesTo: { erpModule: [pm] } }\n')).toEqual([
      'rules.maintenance.thresholds.0.appliesTo.site (line 6): unknown key: appliesTo picks assets by erpModules (a list of ERP modules) and attributes (asset attribute: a value or a list of them); for the assets whose attribute site is BER, write appliesTo: { attributes: { site: BER } }',
      'rules.maintenance.thresholds.1.appliesTo.group (line 7): unknown key: appliesTo picks assets by erpModules (a list of ERP modules) and attributes (asset attribute: a value or a list of them); for the assets whose attribute group is EU or US, write appliesTo: { attributes: { group: [EU, US] } }',
      // One letter off its own key: that one.
      'rules.maintenance.thresholds.2.appliesTo.erpModule (line 8): unknown key: did you mean erpModules?',
    ]);
  });

  it('an interval without its count or with a baseline that cannot be one says what to give', () => {
    expect(
      problems(
        'maintenance:\n  calendarIntervals:\n    - { name: pm-250, everyHours: 250 }\n    - { name: annual, everyDays: 365, meterBaselineAttribute: lastServiceHours }\n    - { name: tuv, everyDays: 365, baselineAttribute: "" }\n  serviceIntervals:\n    - { name: oil, baselineAttribute: lastServiceHours }\n',
      ),
    ).toEqual([
      // The schema's order: service intervals first.
      'rules.maintenance.serviceIntervals.0.everyHours (line 10): say how often: everyHours: N (every N hours, or everyKm for the odometer)',
      'rules.maintenance.calendarIntervals.0.everyDays (line 6): missing: a calendar interval counts days: give everyDays: N (e.g. 365 for a yearly inspection), with everyHours or everyKm for "whichever comes first"; an interval on operating hours or km alone goes in maintenance.serviceIntervals',
      'rules.maintenance.calendarIntervals.1.meterBaselineAttribute (line 7): meterBaselineAttribute needs everyHours or everyKm: it is the meter side\'s baseline in "every 365 days or N hours, whichever comes first"; add everyHours: N (or everyKm: N), or remove it',
      'rules.maintenance.calendarIntervals.2.baselineAttribute (line 8): is empty or blank: name the asset attribute that holds the date of the last service (YYYY-MM-DD), or leave the key out for the default (lastServiceDate)',
    ]);
  });
});

/** Durations in config: a number of milliseconds, or a string like `250ms`, `30s`, `5m`, `1h`, `2d`. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(input);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  return Math.round(Number(m[1]) * (UNITS[m[2]] ?? NaN));
}

/**
 * The threshold rules whose sensor no event of a stream carried (`rules test`): such a rule was not
 * tried at all, which its "nothing" among the deliveries by rule does not tell from a threshold that
 * was never crossed. Most often the rule's sensor name is misspelled, or no source mapping maps the
 * sensor; a sensor name the events did carry that is a slip away is named as the one likely meant.
 * @module
 */
import { editDistance } from '../../edit-distance.js';

/** A threshold rule and the sensor it watches, as configured. */
export interface ThresholdSensor {
  readonly rule: string;
  readonly sensor: string;
}

/** A threshold rule whose sensor no event carried, with the sensor name carried that it likely meant. */
export interface UnseenSensor extends ThresholdSensor {
  readonly didYouMean?: string;
}

/**
 * The rules of `thresholds` (in their order) whose sensor is not among `carried` (the sensor names
 * the events carried), each with the carried name it is likeliest a slip of: the same in another
 * case, or within an edit per four characters (at least one).
 */
export function unseenThresholdSensors(thresholds: readonly ThresholdSensor[], carried: ReadonlySet<string>): UnseenSensor[] {
  const out: UnseenSensor[] = [];
  for (const t of thresholds) {
    if (carried.has(t.sensor)) continue;
    const near = likelyMeant(t.sensor, carried);
    out.push(near === undefined ? { rule: t.rule, sensor: t.sensor } : { rule: t.rule, sensor: t.sensor, didYouMean: near });
  }
  return out;
}

/** The name of `names` that `name` is likeliest a slip of (closest first, then by name), if any is near enough. */
function likelyMeant(name: string, names: ReadonlySet<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: { n: string; d: number } | undefined;
  for (const n of names) {
    const d = n.toLowerCase() === lower ? 0 : editDistance(lower, n.toLowerCase());
    if (best === undefined || d < best.d || (d === best.d && n < best.n)) best = { n, d };
  }
  return best !== undefined && best.d <= Math.max(1, Math.floor(name.length / 4)) ? best.n : undefined;
}

import { describe, expect, it } from 'vitest';
import { topicFilterProblem } from './topic-match.js';

describe('topicFilterProblem: what a broker would refuse is reported at startup', () => {
  // Mutation: the group name's wildcard check dropped.
  it.each(['$share/g+/fleet/#', '$share/#/fleet/#', '$share/+/fleet/+/t'])('rejects the shared subscription %j, whose group holds a wildcard', (filter) => {
    expect(topicFilterProblem(filter)).toBe(`shared subscription "${filter}" needs the form $share/<group>/<filter> with a group name without + or #`);
  });

  // Mutation: the NUL check dropped (MQTT forbids U+0000 in topic names and filters).
  it.each(['fleet/\u0000/t', '\u0000', '$share/g/fleet/a\u0000b'])('rejects a filter with a NUL character (%#)', (filter) => {
    expect(topicFilterProblem(filter)).toBe('topic filter must not contain a NUL character');
  });
});

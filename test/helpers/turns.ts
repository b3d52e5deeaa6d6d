/**
 * Counts the turns the event loop takes: what work that yields between slices gives timers and
 * sockets. Counting starts at once and ends at `stop()`.
 */
export function turnCounter(): { readonly turns: number; stop(): void } {
  let turns = 0;
  let running = true;
  const tick = () => {
    turns++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get turns() {
      return turns;
    },
    stop: () => void (running = false),
  };
}

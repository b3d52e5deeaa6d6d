/**
 * The longest the event loop was held at once while something ran: a 1 ms ticker, whose longest
 * gap between ticks is that hold (MQTT acks, HTTP answers and timers wait that long).
 * @module
 */
export function watchHolds(): { stop(): number } {
  let longest = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const at = performance.now();
    longest = Math.max(longest, at - last);
    last = at;
  }, 1);
  return {
    /** Stops the ticker; the longest gap, ms, counting one that lasts to this call. */
    stop() {
      clearInterval(tick);
      return Math.max(longest, performance.now() - last);
    },
  };
}

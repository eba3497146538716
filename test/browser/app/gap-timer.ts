/** What a gap timer measured: the longest interval between two of its ticks, and how many ticks there were. */
export interface TimerGaps {
  readonly longestGapMs: number;
  readonly ticks: number;
}

/**
 * Starts a 10 ms timer on the page's main thread that measures the longest wait between its ticks: a main thread that
 * something blocked would miss it. `stop()` ends it and gives the figures.
 */
export const startGapTimer = (): { readonly stop: () => TimerGaps } => {
  let last = performance.now();
  let longestGapMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
    ticks++;
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      return { longestGapMs, ticks };
    },
  };
};

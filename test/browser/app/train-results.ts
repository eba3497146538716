import type { MetricsRecord } from '@foldnet/train';

// What the training page (train-page.ts) leaves for test/browser/train.test.ts: types and constants only, so Node
// can import them without running the page.

/** What the page leaves in window.foldnetTrain. */
export interface TrainPageResults {
  readonly crossOriginIsolated: boolean;
  readonly threads: number;
  readonly records: readonly MetricsRecord[];
  readonly step: number;
  /** The checkpoint's bytes, base64. */
  readonly checkpoint: string;
  /** Logits [LOGIT_IMAGES, 10] of the first test images, from the checkpoint read back, row-major. */
  readonly logits: readonly number[];
  readonly longestGapMs: number;
  readonly ticks: number;
  readonly steering: SteeringResult;
}

/** The second run: paused at a step, how far it got while paused, and where stop() ended it. */
export interface SteeringResult {
  readonly pausedAt: number;
  readonly stepsWhilePaused: number;
  readonly resumedAt: number;
  readonly stoppedAt: number;
  readonly stopped: boolean;
  readonly records: number;
}

export const LOGIT_IMAGES = 20;

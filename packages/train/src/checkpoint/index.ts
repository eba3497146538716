/** Checkpoints: safetensors encode/decode with full validation, atomic writes, and the tensor naming convention. */
export { encodeSafetensors, decodeSafetensors, CheckpointError, MAX_HEADER_BYTES } from './safetensors.js';
export type { SafetensorsContent, DecodeOptions } from './safetensors.js';
export { writeFileAtomic, writeFileAtomicWith, nodeAtomicFs, isAtomicTempFile } from './atomic.js';
export type { AtomicFs } from './atomic.js';
export { saveCheckpoint, encodeCheckpoint, loadCheckpoint, packTensors, unpackTensors, matchTensors, MAX_CHECKPOINT_BYTES } from './checkpoint.js';
export type { Checkpoint, CheckpointParts, TensorSpec } from './checkpoint.js';
export { saveTrainState, encodeTrainState, loadTrainState, decodeTrainState, checkpointWeights, resumeTrainState, TRAIN_STATE_FORMAT } from './train-state.js';
export type { TrainStateToSave, TrainStateCheckpoint, SavedOptimizer } from './train-state.js';
export { decodeDataInfo } from './data-info.js';
export type { CheckpointDataInfo } from './data-info.js';

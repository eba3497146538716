/** ONNX export: a network with its params and layer state as ONNX ModelProto bytes, for ONNX Runtime and other tools. */
export {
  exportOnnx,
  saveOnnx,
  ONNX_DEFAULT_OPSET,
  ONNX_MIN_OPSET,
  ONNX_MAX_OPSET,
  ONNX_LAYER_KINDS,
  type OnnxExportOptions,
} from './onnx.js';

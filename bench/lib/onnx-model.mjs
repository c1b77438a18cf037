// A tiny ONNX model builder for single-op benchmark models (both runtimes load the
// same bytes). Encodes a ModelProto with the same protobuf definitions the mx loader
// decodes (onnx-proto).
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const ELEM = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 };
const ATTR = onnx.AttributeProto.AttributeType;

const valueInfo = ({ name, dtype = 'float32', dims }) => ({
  name,
  type: { tensorType: { elemType: ELEM[dtype], shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});

function attribute(name, v) {
  if (Array.isArray(v)) return { name, type: ATTR.INTS, ints: v };
  if (Number.isInteger(v)) return { name, type: ATTR.INT, i: v };
  if (typeof v === 'number') return { name, type: ATTR.FLOAT, f: v };
  return { name, type: ATTR.STRING, s: new TextEncoder().encode(String(v)) };
}

/**
 * Encodes a one-graph model.
 * @param {object} g
 * @param {{ op: string, inputs: string[], outputs: string[], attrs?: Record<string, number | number[] | string> }[]} g.nodes
 * @param {{ name: string, dtype?: string, dims: number[] }[]} g.inputs
 * @param {{ name: string, dtype?: string, dims: number[] }[]} g.outputs
 * @param {{ name: string, dims: number[], data: Float32Array }[]} [g.initializers] float32 constants (raw data)
 * @param {number} [g.opset]
 * @returns {Uint8Array}
 */
export function encodeModel({ nodes, inputs, outputs, initializers = [], opset = 17 }) {
  const graph = {
    name: 'bench',
    node: nodes.map((n, i) => ({
      name: `n${i}`,
      opType: n.op,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    })),
    input: inputs.map(valueInfo),
    output: outputs.map(valueInfo),
    initializer: initializers.map(({ name, dims, data }) => ({
      name,
      dims,
      dataType: ELEM.float32,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    })),
  };
  const model = { irVersion: 8, producerName: 'mx-bench', opsetImport: [{ domain: '', version: opset }], graph };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

const FROM_ELEM = { [ELEM.float32]: ['float32', Float32Array], [ELEM.int64]: ['int64', BigInt64Array] };

/**
 * Decodes a TensorProto file of the ONNX test-data layout (input_K.pb) into
 * `{ name, dtype, dims, data }`; float32 and int64 only (what the benchmark models take).
 */
export function decodeTensorFile(bytes) {
  const t = onnx.TensorProto.decode(bytes);
  const kind = FROM_ELEM[t.dataType];
  if (!kind) throw new Error(`test tensor '${t.name}': element type ${t.dataType} is not float32 or int64`);
  const [dtype, Array] = kind;
  const dims = t.dims.map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  let data;
  if (t.rawData?.length) data = new Array(t.rawData.buffer.slice(t.rawData.byteOffset, t.rawData.byteOffset + n * Array.BYTES_PER_ELEMENT));
  else if (dtype === 'float32') data = Float32Array.from(t.floatData);
  else data = BigInt64Array.from(t.int64Data, (v) => BigInt(v.toString()));
  return { name: t.name, dtype, dims, data };
}

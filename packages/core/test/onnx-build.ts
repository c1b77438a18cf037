/**
 * Builds small ONNX models for tests with the protobuf messages of onnx.proto
 * (the `onnx-proto` package), so that tests need no model files.
 */
import onnxProto from 'onnx-proto';
import { DTYPES, dtypeId, type DType } from '../src/dtype.js';

export const { onnx } = onnxProto;
type Dim = number | string | null;

/** Attribute values: numbers are ints unless wrapped with f(); arrays of numbers are ints unless floats(). */
export type Attr = number | string | number[] | { f: number } | { floats: number[] } | { t: onnxProto.onnx.ITensorProto } | { g: onnxProto.onnx.IGraphProto };
export const f = (x: number) => ({ f: x });
export const floats = (x: number[]) => ({ floats: x });

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
  domain?: string;
  name?: string;
}

/** A TensorProto with raw little-endian data. */
export function tensorProto(name: string, dtype: DType, dims: number[], values: ArrayLike<number | bigint>): onnxProto.onnx.ITensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  const a = new (DTYPES[dtype].array as unknown as new (n: number) => { [i: number]: number | bigint; buffer: ArrayBuffer })(n);
  for (let i = 0; i < n; i++) a[i] = (dtype === 'int64' || dtype === 'uint64' ? BigInt(values[i]!) : Number(values[i]!)) as never;
  return { name, dataType: dtypeId(dtype), dims, rawData: new Uint8Array(a.buffer) };
}

function attr(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('t' in v) return { name, type: T.TENSOR, t: v.t };
  return { name, type: T.GRAPH, g: v.g };
}

export function valueInfo(name: string, dtype: DType | undefined, dims?: Dim[]): onnxProto.onnx.IValueInfoProto {
  if (!dtype) return { name };
  const shape = dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) } : undefined;
  return { name, type: { tensorType: { elemType: dtypeId(dtype), ...(shape && { shape }) } } };
}

export function graph(g: {
  name?: string;
  nodes: NodeSpec[];
  inputs: [string, DType | undefined, Dim[]?][];
  outputs: [string, DType | undefined, Dim[]?][];
  initializers?: onnxProto.onnx.ITensorProto[];
}): onnxProto.onnx.IGraphProto {
  return {
    name: g.name ?? 'g',
    node: g.nodes.map((n, i) => ({
      name: n.name ?? `n${i}`,
      opType: n.op,
      domain: n.domain ?? '',
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
    })),
    input: g.inputs.map(([n, d, s]) => valueInfo(n, d, s)),
    output: g.outputs.map(([n, d, s]) => valueInfo(n, d, s)),
    initializer: g.initializers ?? [],
  };
}

/** Model bytes; `opset` for ai.onnx, `extra` for other domains. */
export function modelBytes(g: onnxProto.onnx.IGraphProto, opset = 21, extra: Record<string, number> = {}): Uint8Array {
  const opsetImport = [{ domain: '', version: opset }, ...Object.entries(extra).map(([domain, version]) => ({ domain, version }))];
  return onnx.ModelProto.encode({ irVersion: 10, producerName: 'mx-test', opsetImport, graph: g }).finish();
}

// Small float32 ONNX models for tests, encoded by hand (protobuf wire format:
// ModelProto ir_version 8, one graph, opset 17): nodes with integer-list attributes,
// graph inputs/outputs with static shapes, initializers as raw data.

export interface TinyModel {
  nodes: { op: string; inputs: string[]; output: string; attrs?: Record<string, number[]> }[];
  inputs: [name: string, dims: number[]][];
  outputs: [name: string, dims: number[]][];
  initializers?: [name: string, dims: number[], data: Float32Array][];
}

export function onnxModel(m: TinyModel): Uint8Array {
  const enc = new TextEncoder();
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 127) out.push((n & 127) | 128), (n = Math.floor(n / 128));
    out.push(n);
    return out;
  };
  const field = (no: number, body: number[] | Uint8Array) => [...varint((no << 3) | 2), ...varint(body.length), ...body];
  const str = (no: number, s: string) => field(no, enc.encode(s));
  const num = (no: number, n: number) => [...varint(no << 3), ...varint(n)];
  // AttributeProto { name, ints (non-negative, unpacked), type INTS }
  const attr = ([name, ints]: [string, number[]]) => field(5, [...str(1, name), ...ints.flatMap((v) => num(8, v)), ...num(20, 7)]);
  const node = (n: TinyModel['nodes'][number]) =>
    field(1, [...n.inputs.flatMap((i) => str(1, i)), ...str(2, n.output), ...str(4, n.op), ...Object.entries(n.attrs ?? {}).flatMap(attr)]);
  const dims = (d: number[]) => field(2, d.flatMap((n) => field(1, num(1, n))));
  // ValueInfoProto { name, type: TypeProto { tensor_type { elem_type FLOAT, shape } } } as graph field `no`
  const info = (no: number, name: string, d: number[]) => field(no, [...str(1, name), ...field(2, field(1, [...num(1, 1), ...dims(d)]))]);
  // TensorProto { dims, data_type FLOAT, name, raw_data }
  const tensor = ([name, d, data]: [string, number[], Float32Array]) =>
    field(5, [...d.flatMap((n) => num(1, n)), ...num(2, 1), ...str(8, name), ...field(9, new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)))]);
  const graph = [
    ...m.nodes.flatMap(node),
    ...str(2, 'g'),
    ...(m.initializers ?? []).flatMap(tensor),
    ...m.inputs.flatMap(([n, d]) => info(11, n, d)),
    ...m.outputs.flatMap(([n, d]) => info(12, n, d)),
  ];
  return new Uint8Array([...num(1, 8), ...field(7, graph), ...field(8, [...str(1, ''), ...num(2, 17)])]);
}

/** Reading NumPy .npy files (format versions 1-3, little-endian, C order) as host tensors. */
import type { DType } from '../dtype.js';
import { DTYPES } from '../dtype.js';
import { MxError } from '../errors.js';
import type { HostTensor } from './proto.js';

const DESCR: Record<string, DType> = {
  '<f4': 'float32', '<f8': 'float64', '<f2': 'float16', '|i1': 'int8', '|u1': 'uint8', '<i2': 'int16', '<u2': 'uint16',
  '<i4': 'int32', '<u4': 'uint32', '<i8': 'int64', '<u8': 'uint64', '|b1': 'bool',
};

export function readNpy(bytes: Uint8Array, where = 'npy file'): HostTensor {
  const bad = (why: string) => new MxError('INVALID_ARGUMENT', `${where}: ${why}`);
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') throw bad('not a .npy file');
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad(`cannot read the header ${header.trim()}`);
  const dtype = DESCR[descr.replace('=', '<')];
  if (!dtype) throw bad(`element type '${descr}' is not supported (little-endian numbers and bool only)`);
  if (fortran === 'True') throw bad('Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const dims = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const size = DTYPES[dtype].size;
  const off = start + hlen;
  if (bytes.length - off < n * size) throw bad(`holds ${bytes.length - off} bytes of data, shape [${dims.join(',')}] needs ${n * size}`);
  const data = new (DTYPES[dtype].array as unknown as new (n: number) => HostTensor['data'])(n);
  new Uint8Array(data.buffer).set(bytes.subarray(off, off + n * size));
  return { dtype, dims, data };
}

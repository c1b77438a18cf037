import { defineOp } from './schema.js';
void defineOp;
export const indexingOps = {} as const;

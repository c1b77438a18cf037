import { defineOp } from './schema.js';
void defineOp;
export const sequenceOps = {} as const;

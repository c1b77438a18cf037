import { defineOp } from './schema.js';
void defineOp;
export const visionOps = {} as const;

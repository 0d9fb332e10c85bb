import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import llamafactory from '../../../schemas/llamafactory.schema.json';
import llava from '../../../schemas/llava.schema.json';
import messages from '../../../schemas/messages.schema.json';
import minicpmv from '../../../schemas/minicpmv.schema.json';
import qwen from '../../../schemas/qwen.schema.json';
import qwenvl from '../../../schemas/qwenvl.schema.json';
import sharegpt from '../../../schemas/sharegpt.schema.json';
import type { DatasetFormat } from './formats';

/** The file-level JSON Schema of each format (the same files package.json contributes through jsonValidation). */
export const formatSchemas: Record<DatasetFormat, { $id: string }> = { minicpmv, llava, sharegpt, qwen, messages, qwenvl, llamafactory };

let ajv: Ajv | undefined;
const sampleValidators = new Map<DatasetFormat, ValidateFunction>();

/** Validator for one sample of the format; each schema is compiled once per process. */
export function sampleValidator(format: DatasetFormat): ValidateFunction {
  let validate = sampleValidators.get(format);
  if (!validate) {
    if (!ajv) {
      ajv = new Ajv({ allErrors: false, strict: false });
      for (const schema of Object.values(formatSchemas)) ajv.addSchema(schema);
    }
    validate = ajv.getSchema(`${formatSchemas[format].$id}#/definitions/sample`);
    if (!validate) throw new Error(`schema for ${format} has no sample definition`);
    sampleValidators.set(format, validate);
  }
  return validate;
}

/** Compiles every format's sample validator now (a worker warming up), not on the first sample of each format. */
export function compileAllSampleValidators(): void {
  for (const format of Object.keys(formatSchemas) as DatasetFormat[]) sampleValidator(format);
}

export type { ErrorObject };

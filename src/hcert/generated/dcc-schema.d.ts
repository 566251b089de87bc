// Types for the generated, plain-JavaScript validator (ajv standalone output; see test/hcert/generate-schema.ts).
export interface DccSchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  message?: string;
}
export interface DccValidateFunction {
  (data: unknown): boolean;
  errors?: DccSchemaError[] | null;
}
export declare const validate: DccValidateFunction;
export default validate;

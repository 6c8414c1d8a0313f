// Types for the generated validator (scripts/generate-k3d-validator.mjs).
export interface K3dSchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
export declare function validate(data: unknown): boolean;
export declare namespace validate {
  let errors: K3dSchemaError[] | null | undefined;
}
export default validate;

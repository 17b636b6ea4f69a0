/** shared/openapi.json for tests: its paths, and validators for the schemas it documents. */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import document from '../../shared/openapi.json';

export type Schema = { $ref?: string } & Record<string, unknown>;
export type Media = { schema: Schema; examples?: Record<string, { summary?: string; value: unknown }> };
export type Content = Record<string, Media>;
export type Response = { $ref?: string; description?: string; content?: Content };
export type Operation = {
  operationId: string;
  tags?: string[];
  summary?: string;
  security: Array<Record<string, string[]>>;
  responses: Record<string, Response>;
  requestBody?: { content: Content };
};
export type PathItem = Record<string, Operation> & { 'x-methods-answered-405'?: string[] };

export const DOCUMENT = document;
export const PATHS = document.paths as unknown as Record<string, PathItem>;
export const COMPONENT_RESPONSES = document.components.responses as unknown as Record<string, Response>;

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ components: document.components }, 'openapi');

/** A validator for a schema of the document, resolving its `#/components/...` references. */
export function validatorOf(schema: Schema): ValidateFunction {
  if (schema.$ref) {
    const found = ajv.getSchema(`openapi${schema.$ref}`);
    if (!found) throw new Error(`no schema at ${schema.$ref}`);
    return found;
  }
  return ajv.compile({ ...schema, $id: undefined, $defs: undefined, components: document.components });
}

/** A response, following a `$ref` to the shared ones. */
export function resolveResponse(response: Response): Response {
  return response.$ref ? COMPONENT_RESPONSES[response.$ref.split('/').pop() ?? ''] : response;
}

/** The validator of a documented JSON answer: path, method, status. */
export function answerValidator(path: string, method: string, status: number): ValidateFunction {
  const response = resolveResponse(PATHS[path][method].responses[String(status)]);
  const media = response.content?.['application/json'];
  if (!media) throw new Error(`${method} ${path} ${status} documents no JSON answer`);
  return validatorOf(media.schema);
}

/** The answer is one shared/openapi.json documents for that path, method and status. */
export function expectDocumentedAnswer(path: string, method: string, status: number, body: unknown): void {
  const validate = answerValidator(path, method, status);
  expect([method, path, status, validate(body) ? null : validate.errors]).toEqual([
    method,
    path,
    status,
    null,
  ]);
}

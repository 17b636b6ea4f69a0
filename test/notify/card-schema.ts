/**
 * The part of the Adaptive Card 1.5 schema the cards use, as the schema explorer documents each
 * element (https://adaptivecards.io/explorer/): no npm package ships the published JSON schema
 * (adaptivecards 3.0.6 carries its schema as TypeScript classes), so the documented elements,
 * properties and values are written here and checked with ajv. Anything else a card holds fails.
 */
export const CARD_SCHEMA = {
  $id: 'adaptive-card-1.5-subset',
  type: 'object',
  definitions: {
    TextBlock: {
      type: 'object',
      required: ['type', 'text'],
      additionalProperties: false,
      properties: {
        type: { const: 'TextBlock' },
        text: { type: 'string' },
        wrap: { type: 'boolean' },
        weight: { enum: ['Default', 'Lighter', 'Bolder'] },
        size: { enum: ['Default', 'Small', 'Medium', 'Large', 'ExtraLarge'] },
        color: { enum: ['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention'] },
        isSubtle: { type: 'boolean' },
        spacing: { enum: ['None', 'Small', 'Default', 'Medium', 'Large', 'ExtraLarge', 'Padding'] },
        separator: { type: 'boolean' },
      },
    },
    FactSet: {
      type: 'object',
      required: ['type', 'facts'],
      additionalProperties: false,
      properties: {
        type: { const: 'FactSet' },
        facts: {
          type: 'array',
          items: {
            type: 'object',
            required: ['title', 'value'],
            additionalProperties: false,
            properties: { title: { type: 'string' }, value: { type: 'string' } },
          },
        },
      },
    },
    Container: {
      type: 'object',
      required: ['type', 'items'],
      additionalProperties: false,
      properties: {
        type: { const: 'Container' },
        items: { type: 'array', items: { $ref: '#/definitions/Element' } },
        separator: { type: 'boolean' },
      },
    },
    Element: {
      oneOf: [
        { $ref: '#/definitions/TextBlock' },
        { $ref: '#/definitions/FactSet' },
        { $ref: '#/definitions/Container' },
      ],
    },
    OpenUrl: {
      type: 'object',
      required: ['type', 'url'],
      additionalProperties: false,
      properties: {
        type: { const: 'Action.OpenUrl' },
        title: { type: 'string' },
        url: { type: 'string', pattern: '^https?://[^\\s]+$' },
      },
    },
  },
  required: ['type', 'version', 'body'],
  additionalProperties: false,
  properties: {
    type: { const: 'AdaptiveCard' },
    $schema: { type: 'string' },
    version: { enum: ['1.0', '1.1', '1.2', '1.3', '1.4', '1.5'] },
    body: { type: 'array', items: { $ref: '#/definitions/Element' } },
    actions: { type: 'array', items: { $ref: '#/definitions/OpenUrl' } },
  },
} as const;

// Checks Adaptive Card JSON the way Teams will see it. The renderer's own parser
// catches what clients actually choke on; the 1.5 JSON schema catches what the
// parser silently tolerates (a TextBlock without text, unknown properties).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type SchemaObject } from 'ajv';
import ajvFormats from 'ajv-formats';
import type * as AdaptiveCards from 'adaptivecards';

const require = createRequire(import.meta.url);
// The package's lib/ is extensionless ESM that Node cannot load; dist/ is the UMD bundle.
const AC = require('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCards;
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json') as SchemaObject;
// CommonJS interop under NodeNext: the plugin is also exported as `.default`.
const addFormats = ajvFormats.default;

/** Every problem found in a rendered (not templated) card; [] when Teams can show it. */
export function validateAdaptiveCard(cardJson: object): string[] {
  // The parser defaults a missing version to 1.0 and the schema does not require it,
  // but Teams needs it on the top-level card.
  const missingVersion = 'version' in cardJson ? [] : ["schema: / must have required property 'version'"];
  return [...missingVersion, ...rendererProblems(cardJson), ...schemaProblems(cardJson)];
}

function rendererProblems(cardJson: object): string[] {
  const card = new AC.AdaptiveCard();
  // The library's latest is 1.6, but Teams renders only up to 1.5.
  card.maxVersion = AC.Versions.v1_5;
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  card.parse(cardJson, context);
  // parse() neither throws nor returns problems: it logs them on the context.
  const events = Array.from({ length: context.eventCount }, (_, i) => context.getEventAt(i));
  events.push(...card.validateProperties().validationEvents);
  return events.map((e) => `renderer: ${AC.ValidationEvent[e.event]}: ${e.message}`);
}

const validateSchema = (() => {
  const ajv = new Ajv({ allErrors: true, strict: false }); // strict:false: the schema uses non-standard keywords
  ajv.addMetaSchema(draft06);
  addFormats(ajv);
  return ajv.compile(teamsCardSchema());
})();

function schemaProblems(cardJson: object): string[] {
  if (validateSchema(cardJson)) return [];
  // anyOf / if errors only wrap the branch errors that are reported alongside them.
  const errors = (validateSchema.errors ?? []).filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'if');
  return [...new Set(errors.map((e) => `schema: ${e.instancePath || '/'} ${e.message ?? e.keyword}${detail(e)}`))];
}

function detail(e: ErrorObject): string {
  const params = e.params as { additionalProperty?: string; allowedValues?: unknown[] };
  if (params.additionalProperty !== undefined) return `: ${params.additionalProperty}`;
  if (params.allowedValues !== undefined) return `: ${params.allowedValues.join(', ')}`;
  return '';
}

/** The published 1.5 schema, adjusted in memory for Ajv 8 and Teams. */
function teamsCardSchema(): SchemaObject {
  const file = new URL('../schemas/adaptive-card-1.5.schema.json', import.meta.url);
  const { id, definitions, ...rest } = JSON.parse(readFileSync(file, 'utf8')) as SchemaObject;
  const defs = { ...(definitions as Record<string, SchemaObject>) };
  // Teams' own root property (width: Full, mention entities) is not in the schema.
  const card = defs.AdaptiveCard!;
  defs.AdaptiveCard = { ...card, properties: { ...card.properties, msteams: { type: 'object' } } };
  // Teams adds the "filtered" style (static typeahead search) to Input.ChoiceSet; the 1.5 schema predates it.
  defs.ChoiceInputStyle = { enum: ['compact', 'expanded', 'filtered'] };
  // Each ImplementationsOf.* is an anyOf over every element or action type, so one
  // mistake yields a failure per type. Choosing the definition by `type` keeps the
  // same rules but reports only the errors of the type the card names.
  for (const [name, def] of Object.entries(defs)) {
    if (!name.startsWith('ImplementationsOf.')) continue;
    const refs = (def.anyOf as { allOf: [{ $ref: string }] }[]).map((branch) => branch.allOf[0].$ref);
    const types = refs.map((ref) => ref.slice('#/definitions/'.length));
    defs[name] = {
      required: ['type'],
      properties: { type: { enum: types } },
      allOf: refs.map((ref, i) => ({
        if: { required: ['type'], properties: { type: { const: types[i] } } },
        then: { $ref: ref },
      })),
    };
  }
  // Ajv 8 only reads `$id`; the file still uses draft-04 style `id`.
  return { ...rest, $id: id as string, definitions: defs };
}

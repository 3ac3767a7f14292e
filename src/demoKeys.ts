/** A first local start mints a few demo keys, so a newcomer can try the flow at once. */
import type { EmbeddedCommerce } from './commerce/embeddedCommerce.js';
import type { Config } from './config.js';

export async function mintDemoKeysIfEmpty(config: Config, commerce: EmbeddedCommerce): Promise<string[]> {
  // With real credentials the bot serves real partners: demo keys would be free licenses.
  if (!config.localMode || config.DEMO_KEY_COUNT === 0 || !(await commerce.isEmpty())) return [];
  return commerce.issueKeys({ product: 'Microsoft 365 Business Standard', seats: 10, months: 12, count: config.DEMO_KEY_COUNT });
}

export function demoKeysBanner(keys: readonly string[]): string {
  return [
    '',
    'Demo product keys (Microsoft 365 Business Standard, 10 seats, 12 months). They are shown only now:',
    ...keys.map((key) => `  ${key}`),
    'Open a chat with the bot (npm run dev starts the Agents Playground), type "redeem" and paste them.',
    'Mint more with: npm run keys -- issue --product "Office 365 E3" --seats 5 --months 12 --count 2',
    '',
  ].join('\n');
}

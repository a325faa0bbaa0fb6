import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ParameterStore } from '../../ports/ParameterStore.js';

/** GetParameters takes at most this many names a call. */
const BATCH = 10;

/**
 * The deploy preflight's view of SSM: GetParameters without decryption, so
 * the deploying identity needs `ssm:GetParameters` on the stage's path, not
 * the key, and no value is ever read in clear.
 */
export class SsmParameterStore implements ParameterStore {
  public constructor(private readonly client: Pick<SSMClient, 'send'>) {}

  public async types(names: string[]): Promise<Map<string, string>> {
    const unique = [...new Set(names)];
    const found = new Map<string, string>();
    for (let i = 0; i < unique.length; i += BATCH) {
      const out = await this.client.send(new GetParametersCommand({ Names: unique.slice(i, i + BATCH), WithDecryption: false }));
      for (const p of out.Parameters ?? []) if (p.Name) found.set(p.Name, p.Type ?? 'String');
    }
    return found;
  }
}

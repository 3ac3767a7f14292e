/**
 * Bot Framework authentication that reuses connector clients. The SDK builds a new ConnectorClient,
 * a whole HTTP pipeline, for every turn and every proactive message: about a tenth of a turn's CPU
 * in the benchmark. A client keeps no per-turn state (its credentials renew their own token), so one
 * per app, service URL and audience serves every turn.
 */
import { ConfigurationBotFrameworkAuthentication, type Activity } from 'botbuilder';
import { AuthenticationConstants, type AuthenticateRequestResult, type ClaimsIdentity, type ConnectorClient, type ConnectorFactory } from 'botframework-connector';

/** Teams uses a handful of service URLs; the bound only keeps odd callers from growing the map. */
const MAX_CLIENTS = 64;

export class ReusedConnectorsAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly clients = new Map<string, Promise<ConnectorClient>>();

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    const result = await super.authenticateRequest(activity, authHeader);
    return result.connectorFactory ? { ...result, connectorFactory: this.reusing(result.claimsIdentity, result.connectorFactory) } : result;
  }

  override createConnectorFactory(identity: ClaimsIdentity): ConnectorFactory {
    return this.reusing(identity, super.createConnectorFactory(identity));
  }

  private reusing(identity: ClaimsIdentity, factory: ConnectorFactory): ConnectorFactory {
    const appId = identity.getClaimValue(AuthenticationConstants.AudienceClaim) ?? identity.getClaimValue(AuthenticationConstants.AppIdClaim) ?? '';
    return {
      create: (serviceUrl: string, audience?: string) => {
        const key = JSON.stringify([appId, serviceUrl, audience ?? '']);
        const kept = this.clients.get(key);
        if (kept) return kept;
        if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
        const client = factory.create(serviceUrl, audience);
        // A client that could not be made (no token, say) is made again on the next turn.
        client.catch(() => this.clients.delete(key));
        this.clients.set(key, client);
        return client;
      },
    };
  }
}

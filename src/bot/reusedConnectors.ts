/**
 * Bot Framework authentication that reuses connector and user-token clients. The SDK builds a new
 * ConnectorClient and a new UserTokenClient, each a whole HTTP pipeline, for every turn and every
 * proactive message: about a seventh of a turn's CPU in the benchmark. A client keeps no per-turn
 * state (its credentials renew their own token), so one per app, service URL and audience serves
 * every turn.
 */
import { ConfigurationBotFrameworkAuthentication, type Activity } from 'botbuilder';
import { AuthenticationConstants, type AuthenticateRequestResult, type ClaimsIdentity, type ConnectorClient, type ConnectorFactory, type UserTokenClient } from 'botframework-connector';

/** Teams uses a handful of service URLs; the bound only keeps odd callers from growing the map. */
const MAX_CLIENTS = 64;

/** The app a request was sent to, as the SDK picks it for its clients. */
function appIdOf(identity: ClaimsIdentity): string {
  return identity.getClaimValue(AuthenticationConstants.AudienceClaim) ?? identity.getClaimValue(AuthenticationConstants.AppIdClaim) ?? '';
}

export class ReusedConnectorsAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly clients = new Map<string, Promise<ConnectorClient | UserTokenClient>>();

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    const result = await super.authenticateRequest(activity, authHeader);
    return result.connectorFactory ? { ...result, connectorFactory: this.reusing(result.claimsIdentity, result.connectorFactory) } : result;
  }

  override createConnectorFactory(identity: ClaimsIdentity): ConnectorFactory {
    return this.reusing(identity, super.createConnectorFactory(identity));
  }

  override createUserTokenClient(identity: ClaimsIdentity): Promise<UserTokenClient> {
    return this.kept(['user tokens', appIdOf(identity)], () => super.createUserTokenClient(identity));
  }

  private reusing(identity: ClaimsIdentity, factory: ConnectorFactory): ConnectorFactory {
    const appId = appIdOf(identity);
    return { create: (serviceUrl: string, audience?: string) => this.kept(['connector', appId, serviceUrl, audience ?? ''], () => factory.create(serviceUrl, audience)) };
  }

  private kept<C extends ConnectorClient | UserTokenClient>(parts: string[], make: () => Promise<C>): Promise<C> {
    const key = JSON.stringify(parts);
    const kept = this.clients.get(key);
    if (kept) return kept as Promise<C>;
    if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
    const client = make();
    // A client that could not be made (no token, say) is made again on the next turn.
    client.catch(() => this.clients.delete(key));
    this.clients.set(key, client);
    return client;
  }
}

/**
 * Which service URLs the bot may send to (SERVICE_URL_ALLOW). Replies and proactive messages go to
 * the `serviceUrl` an activity carried or a stored reference holds; the allow-list keeps them on
 * the connector hosts the operator expects, whatever an activity or a data file says.
 *
 * A pattern is an origin: `https://host[:port]`, where the host may start with `*.` (any subdomain),
 * or `*` for any URL. Paths do not matter (Teams puts the region there: /amer/, /emea/, /teams/).
 */

/**
 * Teams' public service hosts (commercial, GCC, GCC High, DoD), as Microsoft's Agents SDK lists
 * them (TeamsServiceEndpoints): the default when credentials are set.
 */
export const TEAMS_SERVICE_URLS = [
  'https://smba.trafficmanager.net',
  'https://smba.infra.gcc.teams.microsoft.com',
  'https://smba.infra.gov.teams.microsoft.us',
  'https://smba.infra.dod.teams.microsoft.us',
];

interface Origin {
  protocol: string;
  host: string;
  /** `*.example.com`: example.com's subdomains, not example.com itself. */
  anySubdomain: boolean;
  port: string;
}

/** The pattern as an origin, or a reason it is not one. */
export function parseServiceUrlPattern(pattern: string): Origin | '*' | string {
  if (pattern === '*') return '*';
  const anySubdomain = /^[a-z]+:\/\/\*\./i.test(pattern);
  let url: URL;
  try {
    url = new URL(anySubdomain ? pattern.replace('*.', 'wildcard.') : pattern);
  } catch {
    return `"${pattern.slice(0, 100)}" is not a URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `"${pattern.slice(0, 100)}" is not an http(s) URL`;
  if (url.pathname !== '/' || url.search || url.hash || url.username) return `"${pattern.slice(0, 100)}" must be an origin (scheme://host[:port]) without a path`;
  return { protocol: url.protocol, host: anySubdomain ? url.hostname.slice('wildcard.'.length) : url.hostname, anySubdomain, port: url.port };
}

/** A test for service URLs from the patterns (already checked with parseServiceUrlPattern). */
export function serviceUrlMatcher(patterns: readonly string[]): (serviceUrl: string) => boolean {
  const origins = patterns.map(parseServiceUrlPattern);
  if (origins.includes('*')) return () => true;
  const allowed = origins.filter((origin): origin is Origin => typeof origin === 'object');
  return (serviceUrl) => {
    let url: URL;
    try {
      url = new URL(serviceUrl);
    } catch {
      return false;
    }
    return allowed.some(
      (origin) =>
        origin.protocol === url.protocol &&
        origin.port === url.port &&
        !url.username &&
        (origin.anySubdomain ? url.hostname.endsWith(`.${origin.host}`) : url.hostname === origin.host),
    );
  };
}

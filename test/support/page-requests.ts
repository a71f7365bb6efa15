/** Host a page request went to; an object URL names the origin that created it: blob:http://127.0.0.1:PORT/UUID. */
function requestHost(url: string): string {
  const parsed = new URL(url);
  return parsed.protocol === 'blob:' ? new URL(parsed.pathname).hostname : parsed.hostname;
}

/** Returns the URLs among `urls` that went to a host other than 127.0.0.1 (data: URLs go nowhere). */
export function foreignRequests(urls: readonly string[]): string[] {
  return urls.filter((url) => !url.startsWith('data:') && requestHost(url) !== '127.0.0.1');
}

/**
 * Hash routes: `#/tickets`, `#/kitchen`, `#/conflicts`, `#/menu` and `#/takings` (managers), `#/console`, and
 * `#/pair?…` (the pairing link). Hash routing keeps every deep link served by the one precached index.html.
 */
export const SCREENS = ['tickets', 'kitchen', 'conflicts', 'menu', 'takings', 'console'] as const;
export type Screen = (typeof SCREENS)[number];

export interface Route {
  name: Screen | 'pair';
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const body = hash.replace(/^#\/?/, '');
  const q = body.indexOf('?');
  const name = (q < 0 ? body : body.slice(0, q)).replace(/\/$/, '');
  const query = new URLSearchParams(q < 0 ? '' : body.slice(q + 1));
  if (name === 'pair') return { name: 'pair', query };
  const screen = SCREENS.find((s) => s === name);
  return { name: screen ?? 'tickets', query };
}

export class Router {
  route = $state<Route>(parseHash(location.hash));

  constructor() {
    window.addEventListener('hashchange', () => (this.route = parseHash(location.hash)));
  }

  go(screen: Screen): void {
    location.hash = `#/${screen}`;
  }

  /** Leaves the pairing link without keeping its token in the history. */
  replace(screen: Screen): void {
    history.replaceState(null, '', `${location.pathname}${location.search}#/${screen}`);
    this.route = parseHash(location.hash);
  }
}

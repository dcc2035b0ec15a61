// Addresses: /console/<page>[/<id>], kept in the browser's history so Back works. The server
// answers every such address with the app.
import {useEffect, useState} from 'preact/hooks';

export interface Route {
  page: string;
  id: string | null;
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const rest = location.pathname.replace(/^\/console\/?/, '');
  const [page = '', id = null] = rest.split('/').filter(Boolean).map(decodeURIComponent);
  return {page: page || 'users', id, query: new URLSearchParams(location.search)};
}

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false) {
  const url = to.startsWith('/console') ? to : `/console/${to.replace(/^\//, '')}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

// A plain left click on an in-app link moves without reloading (a reload signs out).
export function onLink(e: MouseEvent) {
  const a = (e.target as HTMLElement).closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/console') || a.hasAttribute('download')) return;
  e.preventDefault();
  navigate(href);
}

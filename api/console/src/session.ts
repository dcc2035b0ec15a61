// The signed-in principal, in memory only: a reload asks to sign in again.
import {createContext} from 'preact';
import {useContext} from 'preact/hooks';
import type {Api} from './api';
import type {Me} from './model';

export interface Session {
  api: Api;
  me: Me;
  signOut: () => void;
  // Re-reads …/me (after a change that may have changed the caller's own grants).
  refresh: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

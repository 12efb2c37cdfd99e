// A small typed client for the REST contract. Every failure becomes an
// `ApiError` carrying the contract's error code, so screens can show the
// right inline message.
import type {
  ErrorBody,
  ErrorCode,
  Hold,
  Inbox,
  LoginResponse,
  Page,
  RequestInput,
  RequestStatus,
  Settings,
  SettingsInput,
  User,
  WireAvailability,
  WireChanges,
  WireDay,
  WorkRequest,
} from './types';
import { currentAccessToken } from '../auth/session';
import { apiUrl } from './base';

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.error;
    this.details = body.details ?? {};
  }

  /** The body field the server blamed, when it named one. */
  get field(): string | undefined {
    const field = this.details.field;
    return typeof field === 'string' ? field : undefined;
  }
}

type TokenSource = () => string | null;
type UnauthorizedHandler = () => void;

// The stored session's token from the start: the first requests of a page
// (the settings, this month, the bell — asked for by start.ts and during the
// first render, before the auth provider's effect has run) carry it too.
let tokenSource: TokenSource = currentAccessToken;
let onUnauthorized: UnauthorizedHandler = () => {};

/** Wires the client to the session (set once by the auth provider). */
export function configureApi(tokens: TokenSource, unauthorized: UnauthorizedHandler): void {
  tokenSource = tokens;
  onUnauthorized = unauthorized;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = tokenSource();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { error: 'network', message: 'The server cannot be reached.' });
  }

  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const errorBody =
      parsed && typeof parsed === 'object' && 'error' in parsed
        ? (parsed as ErrorBody)
        : { error: 'internal' as const, message: `HTTP ${response.status}` };
    const error = new ApiError(response.status, errorBody);
    if (response.status === 401 && token) onUnauthorized();
    throw error;
  }
  return parsed as T;
}

/**
 * Releases a hold while the page goes away: a `keepalive` request outlives
 * the page (best effort — the hold's expiry is the guarantee).
 */
export function releaseHoldOnExit(id: number, token: string | null = tokenSource()): void {
  if (!token) return;
  try {
    void fetch(apiUrl(`/api/holds/${id}`), {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${token}` },
      keepalive: true,
    }).catch(() => {});
  } catch {
    // the page is going away; expiry frees the slot
  }
}

/** The session's token now (a hold remembers it, to be released after signing out). */
export function currentToken(): string | null {
  return tokenSource();
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const api = {
  login: (email: string, password: string) =>
    call<LoginResponse>('POST', '/api/auth/login', { email, password }),
  register: (email: string, password: string, displayName: string) =>
    call<User>('POST', '/api/auth/register', { email, password, displayName }),
  me: () => call<User>('GET', '/api/auth/me'),
  users: () => call<User[]>('GET', '/api/users'),

  settings: () => call<Settings>('GET', '/api/settings/public'),
  updateSettings: (input: SettingsInput) => call<Settings>('PUT', '/api/settings', input),
  setOverride: (date: string, capacity: number, note?: string) =>
    call<WireDay>('PUT', `/api/capacity/overrides/${date}`, { capacity, note: note || undefined }),
  removeOverride: (date: string) => call<WireDay>('DELETE', `/api/capacity/overrides/${date}`),

  availability: (from: string, to: string) =>
    call<WireAvailability>('GET', `/api/availability${query({ from, to })}`),
  changesSince: (since: number) =>
    call<WireChanges>('GET', `/api/availability/changes${query({ since })}`),

  requests: (params: { status?: RequestStatus; from?: string; to?: string; page?: number; pageSize?: number } = {}) =>
    call<Page<WorkRequest>>('GET', `/api/requests${query(params)}`),
  createRequest: (input: RequestInput) => call<WorkRequest>('POST', '/api/requests', input),
  updateRequest: (id: number, input: RequestInput) =>
    call<WorkRequest>('PUT', `/api/requests/${id}`, input),
  cancelRequest: (id: number) => call<WorkRequest>('POST', `/api/requests/${id}/cancel`),
  setRequestStatus: (id: number, status: RequestStatus, reason?: string) =>
    call<WorkRequest>('PATCH', `/api/requests/${id}/status`, reason ? { status, reason } : { status }),

  takeHold: (date: string) => call<Hold>('POST', '/api/holds', { date }),
  holds: () => call<Hold[]>('GET', '/api/holds'),
  releaseHold: (id: number) => call<void>('DELETE', `/api/holds/${id}`),

  notifications: () => call<Inbox>('GET', '/api/notifications'),
  markRead: (id: number) => call<void>('POST', `/api/notifications/${id}/read`),
  markAllRead: () => call<void>('POST', '/api/notifications/read-all'),
};

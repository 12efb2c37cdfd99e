// Query-cache keys, in one place so the live layer and the screens agree.
export const keys = {
  availabilityAll: ['availability'] as const,
  availability: (from: string, to: string) => ['availability', from, to] as const,
  settings: ['settings'] as const,
  notifications: ['notifications'] as const,
  requestsAll: ['requests'] as const,
  requests: (scope: string, status: string, page: number) => ['requests', scope, status, page] as const,
  /** The capacity view's open requests due by `to` (under `requests`, so every request change refreshes it). */
  openRequests: (to: string) => ['requests', 'open', to] as const,
  users: ['users'] as const,
};

// Query-cache keys, in one place so the live layer and the screens agree.
export const keys = {
  availabilityAll: ['availability'] as const,
  availability: (from: string, to: string) => ['availability', from, to] as const,
  settings: ['settings'] as const,
  notifications: ['notifications'] as const,
  requestsAll: ['requests'] as const,
  requests: (scope: string, status: string, page: number) => ['requests', scope, status, page] as const,
  users: ['users'] as const,
};

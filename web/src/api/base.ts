// Where the API and the hub are: the page's own origin, or the origin (and
// optional path prefix) in VITE_API_BASE_URL, fixed at build time.

/** `base` + `path`, with exactly one slash between them; `base` '' keeps `path` as it is (same origin). */
export function joinUrl(base: string, path: string): string {
  const trimmed = base.trim().replace(/\/+$/, '');
  if (!trimmed) return path;
  return `${trimmed}/${path.replace(/^\/+/, '')}`;
}

/** The configured base ('' = same origin). */
export const API_BASE_URL: string = import.meta.env.VITE_API_BASE_URL ?? '';

/** The URL of an API or hub path (`/api/...`, `/hubs/...`). */
export function apiUrl(path: string): string {
  return joinUrl(API_BASE_URL, path);
}

/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API and the hub to a running server
// (REQUEST_DESK_URL, default http://127.0.0.1:8080).
const target = process.env.REQUEST_DESK_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  // No source maps in the default build (they would be public); `npm run build -- --sourcemap` makes them locally.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: {
      '/api': target,
      '/health': target,
      '/hubs': { target, ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});

/// <reference types="vitest/config" />
import { defineConfig, type HtmlTagDescriptor, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API and the hub to a running server
// (REQUEST_DESK_URL, default http://127.0.0.1:8080).
const target = process.env.REQUEST_DESK_URL ?? 'http://127.0.0.1:8080';

/**
 * The entry (src/boot.ts) opens the hub's socket and imports src/start.ts,
 * which starts the hub client and then imports the app (src/main.tsx); this
 * has the browser fetch both chunks' code and the app's styles from the
 * start, alongside the entry, rather than one after the other.
 */
function preloadApp(): Plugin {
  return {
    name: 'request-desk:preload-app',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, { bundle }) {
        if (!bundle) return [];
        const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
        const entry = chunks.find((c) => c.isEntry);
        const chunkOf = (source: string) => {
          const chunk = chunks.find((c) => c.facadeModuleId?.endsWith(source));
          if (!chunk) throw new Error(`preload-app: no chunk for ${source}`);
          return chunk;
        };
        const files = new Set<string>();
        const css = new Set<string>();
        const visit = (name: string) => {
          const chunk = chunks.find((c) => c.fileName === name);
          if (!chunk || files.has(name) || name === entry?.fileName) return;
          files.add(name);
          for (const file of chunk.viteMetadata?.importedCss ?? []) css.add(file);
          chunk.imports.forEach(visit);
        };
        visit(chunkOf('/src/start.ts').fileName);
        visit(chunkOf('/src/main.tsx').fileName);
        const tags: HtmlTagDescriptor[] = [];
        for (const href of css) tags.push({ tag: 'link', attrs: { rel: 'stylesheet', crossorigin: true, href: `/${href}` }, injectTo: 'head' });
        for (const href of files) tags.push({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `/${href}` }, injectTo: 'head' });
        return tags;
      },
    },
  };
}

export default defineConfig({
  plugins: [react(), preloadApp()],
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
    include: ['src/**/*.test.ts', 'e2e/lib/*.test.mjs'],
    environment: 'node',
  },
});

/// <reference types="vite/client" />

interface ImportMetaEnv {
  /**
   * Where the API and the hub live when the client is served from another
   * origin (`https://api.example.com`, optionally with a path prefix);
   * unset or empty: the page's own origin.
   */
  readonly VITE_API_BASE_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}

import { startTransition } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router-dom';
import { App } from './App';
import { AuthProvider } from './auth/AuthProvider';
import { queryClient } from './start';
import { I18nProvider } from './i18n/I18nProvider';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
// The first render is a transition, rendered in slices that yield to the
// browser every few milliseconds: the hub's handshake (started by start.ts
// just before this module was imported) completes while the app renders
// rather than after the whole first render.
startTransition(() =>
  root.render(
    <QueryClientProvider client={queryClient}>
      <I18nProvider>
        <AuthProvider>
          <BrowserRouter>
            <App />
          </BrowserRouter>
        </AuthProvider>
      </I18nProvider>
    </QueryClientProvider>,
  ),
);

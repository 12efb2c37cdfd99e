import { Suspense, lazy } from 'react';
import type { ReactNode } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { useAuth } from './auth/AuthProvider';
import { Header } from './components/Header';
import { ToastProvider } from './components/Toasts';
import { useI18n } from './i18n/I18nProvider';
import { LiveFeedback } from './live/LiveFeedback';
import { LiveProvider } from './live/LiveProvider';
import { NewRequest } from './pages/NewRequest';
import { Register } from './pages/Register';
import { SignIn } from './pages/SignIn';

// The picker is in the first bundle; the other pages load when first visited.
const MyRequests = lazy(() => import('./pages/MyRequests').then((m) => ({ default: m.MyRequests })));
const DesignerQueue = lazy(() => import('./pages/DesignerQueue').then((m) => ({ default: m.DesignerQueue })));
const Admin = lazy(() => import('./pages/Admin').then((m) => ({ default: m.Admin })));
const CapacityView = lazy(() => import('./pages/CapacityView').then((m) => ({ default: m.CapacityView })));

export function App() {
  const { user, token } = useAuth();
  const { t } = useI18n();
  const location = useLocation();

  const shell = (content: ReactNode) => (
    <>
      <a className="skip-link" href="#main">
        {t('app.skip')}
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p>{t('app.loading')}</p>}>{content}</Suspense>
      </main>
    </>
  );

  if (!user || !token) {
    const next = location.pathname === '/' ? '' : `?next=${encodeURIComponent(location.pathname)}`;
    return (
      <ToastProvider>
        {shell(
          <Routes>
            <Route path="/signin" element={<SignIn />} />
            <Route path="/register" element={<Register />} />
            <Route path="*" element={<Navigate to={`/signin${next}`} replace />} />
          </Routes>,
        )}
      </ToastProvider>
    );
  }

  const staff = user.role === 'designer' || user.role === 'admin';
  return (
    <ToastProvider>
      {/* one live connection per session: a new token makes a new one */}
      <LiveProvider key={token}>
        <LiveFeedback>
          {shell(
            <Routes>
              <Route path="/" element={<Navigate to="/new" replace />} />
              <Route path="/signin" element={<Navigate to="/new" replace />} />
              <Route path="/register" element={<Navigate to="/new" replace />} />
              <Route path="/new" element={<NewRequest />} />
              <Route path="/requests" element={<MyRequests />} />
              <Route path="/queue" element={staff ? <DesignerQueue /> : <Navigate to="/new" replace />} />
              <Route path="/admin" element={user.role === 'admin' ? <Admin /> : <Navigate to="/new" replace />} />
              <Route path="/capacity" element={staff ? <CapacityView /> : <StaffOnly />} />
              <Route path="*" element={<p>{t('app.notFound')}</p>} />
            </Routes>,
          )}
        </LiveFeedback>
      </LiveProvider>
    </ToastProvider>
  );
}

/** The capacity view opened by a requester (a shared link, say): it says the page is for staff, and offers the way back. */
function StaffOnly() {
  const { t } = useI18n();
  return (
    <div className="page">
      <h1>{t('capacity.title')}</h1>
      <p data-testid="staff-only">{t('capacity.staffOnly')}</p>
      <p>
        <Link to="/new">{t('nav.newRequest')}</Link>
      </p>
    </div>
  );
}

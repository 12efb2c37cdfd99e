import { NavLink } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { useI18n } from '../i18n/I18nProvider';
import { ConnectionIndicator } from './ConnectionIndicator';
import { LanguageSwitch } from './LanguageSwitch';
import { NotificationBell } from './NotificationBell';

export function Header() {
  const { t } = useI18n();
  const { user, signOut } = useAuth();
  if (!user) {
    return (
      <header className="header">
        <span className="brand">{t('app.title')}</span>
        <div className="header-tools">
          <LanguageSwitch />
        </div>
      </header>
    );
  }
  const staff = user.role === 'designer' || user.role === 'admin';
  return (
    <header className="header">
      <span className="brand">{t('app.title')}</span>
      <nav aria-label={t('nav.main')} className="nav">
        <NavLink to="/new" data-testid="nav-new">
          {t('nav.newRequest')}
        </NavLink>
        <NavLink to="/requests" data-testid="nav-requests">
          {t('nav.myRequests')}
        </NavLink>
        {staff && (
          <NavLink to="/queue" data-testid="nav-queue">
            {t('nav.queue')}
          </NavLink>
        )}
        {user.role === 'admin' && (
          <NavLink to="/admin" data-testid="nav-admin">
            {t('nav.admin')}
          </NavLink>
        )}
      </nav>
      <div className="header-tools">
        <ConnectionIndicator />
        <NotificationBell />
        <LanguageSwitch />
        <span className="muted small" data-testid="signed-in-as">
          {t('nav.signedInAs', { name: user.displayName })}
        </span>
        <button type="button" onClick={signOut} data-testid="sign-out">
          {t('nav.signOut')}
        </button>
      </div>
    </header>
  );
}
